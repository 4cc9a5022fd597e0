"""Normalise and validate Russian health-insurance identifiers and contact data."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

import phonenumbers

from cases.kit.errors import InvalidValue

# Whitespace (incl. NBSP) and the hyphen/dash characters people paste from
# office documents are treated as separators in numeric identifiers.
_SEPARATORS: Final = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2212]+")


_ASCII_DIGITS: Final = re.compile(r"[0-9]+")


def _strip_separators(value: str) -> str:
    return _SEPARATORS.sub("", value)


def _is_ascii_digits(value: str, length: int) -> bool:
    # str.isdigit() would also accept e.g. "²" or Arabic-Indic digits.
    return len(value) == length and _ASCII_DIGITS.fullmatch(value) is not None


ENP_LENGTH: Final = 16


def enp_check_digit(first15: str) -> str:
    """Return the Luhn (mod 10) check digit for the first 15 digits of an ЕНП."""
    if not _is_ascii_digits(first15, ENP_LENGTH - 1):
        raise ValueError("expected exactly 15 ASCII digits")
    total = 0
    # Walking right to left, the digit next to the (future) check digit is doubled.
    for position, char in enumerate(reversed(first15)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def normalize_enp(value: str, field: str = "enp") -> str:
    """Return the 16-digit ЕНП, or raise InvalidValue."""
    digits = _strip_separators(value)
    if not _is_ascii_digits(digits, ENP_LENGTH):
        raise InvalidValue(field, "must be 16 digits")
    if enp_check_digit(digits[:-1]) != digits[-1]:
        raise InvalidValue(field, "check digit does not match; the number is mistyped")
    return digits


SNILS_LENGTH: Final = 11


# Check numbers are only defined for numbers above 001-001-998.
_SNILS_CHECKED_ABOVE: Final = 1_001_998


def snils_check_number(first9: str) -> str:
    """Return the two-digit СНИЛС check number for its first 9 digits."""
    if not _is_ascii_digits(first9, 9):
        raise ValueError("expected exactly 9 ASCII digits")
    total = sum(int(char) * weight for char, weight in zip(first9, range(9, 0, -1), strict=True))
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101
        if check == 100:
            check = 0
    return f"{check:02d}"


def normalize_snils(value: str, field: str = "snils") -> str:
    """Return the 11-digit СНИЛС without separators, or raise InvalidValue."""
    digits = _strip_separators(value)
    if not _is_ascii_digits(digits, SNILS_LENGTH):
        raise InvalidValue(field, "must be 11 digits")
    number, check = digits[:9], digits[9:]
    if int(number) > _SNILS_CHECKED_ABOVE and snils_check_number(number) != check:
        raise InvalidValue(field, "check number does not match; the number is mistyped")
    return digits


def normalize_phone(value: str, field: str = "phone", region: str = "RU") -> str:
    """Return the number in E.164 form (e.g. "+78003332225"), or raise InvalidValue.

    Numbers without a country code are read as numbers of ``region``; for RU
    both the trunk prefix "8" and a bare 10-digit number ("(8652) 56-06-68")
    are accepted.
    """
    text = value.strip()
    if not text:
        raise InvalidValue(field, "must not be empty")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidValue(field, "is not a phone number") from None
    if parsed.extension:
        # E.164 cannot carry an extension; refuse rather than silently drop it.
        raise InvalidValue(field, "must not contain an extension")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidValue(field, "is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Only Latin letters: a Cyrillic look-alike ("А10", "Е11") is a typing mistake.
# The order itself writes some codes with a space after the letter (`N 18.1`), and clinics copy
# it; one space there is accepted and dropped.
_ICD10: Final = re.compile(r"([A-Za-z]) ?([0-9]{2}(?:\.[0-9]{1,2})?)")


def normalize_icd10(value: str, field: str = "icd10") -> str:
    """Return the upper-case ICD-10 code (A00..Z99[.N[N]]), or raise InvalidValue."""
    # Match before upper-casing: "ı".upper() == "I" and "ſ".upper() == "S".
    match = _ICD10.fullmatch(value.strip())
    if match is None:
        raise InvalidValue(
            field,
            "must be an ICD-10 code: a Latin letter, two digits and optionally"
            " a dot with one or two digits (e.g. I11.9)",
        )
    return (match.group(1) + match.group(2)).upper()


NAME_MAX_LENGTH: Final = 100


def normalize_name(value: str, field: str) -> str:
    """Return the name trimmed, inner whitespace collapsed, or raise InvalidValue."""
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not name:
        raise InvalidValue(field, "must not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidValue(field, f"must be at most {NAME_MAX_LENGTH} characters")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise InvalidValue(field, "must not contain control characters")
    return name


def name_search_key(*parts: str | None) -> str:
    """Build a case-insensitive search key.

    Lower case, ё→е, non-empty parts joined by single spaces.
    """
    words: list[str] = []
    for part in parts:
        if part is None:
            continue
        text = unicodedata.normalize("NFC", part).lower().replace("ё", "е")
        words.extend(text.split())
    return " ".join(words)


EMAIL_MAX_LENGTH: Final = 254


def normalize_email(value: str, field: str = "email") -> str:
    """Return the e-mail address with a lower-case domain, or raise InvalidValue."""
    email = value.strip()
    if not email:
        raise InvalidValue(field, "must not be empty")
    if len(email) > EMAIL_MAX_LENGTH:
        raise InvalidValue(field, f"must be at most {EMAIL_MAX_LENGTH} characters")
    if any(char.isspace() for char in email):
        raise InvalidValue(field, "must not contain spaces")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in email):
        raise InvalidValue(field, "must not contain control characters")
    if email.count("@") != 1:
        raise InvalidValue(field, "must contain exactly one @")
    local, domain = email.split("@")
    if not local:
        raise InvalidValue(field, "must have a name before the @")
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise InvalidValue(field, "must have a domain such as example.ru after the @")
    return f"{local}@{domain.lower()}"


ADDRESS_MAX_LENGTH: Final = 500
_LINE_BREAKS: Final = frozenset("\n\r\t")


def plain_text(value: str, field: str, limit: int, *, lines: bool = False) -> str:
    """Free text trimmed, or raise InvalidValue: no control characters (a NUL reaches no
    database), line breaks and tabs only where `lines` allows them, at most `limit` long."""
    text = value.strip()
    allowed = _LINE_BREAKS if lines else frozenset()
    if any(unicodedata.category(char) in ("Cc", "Cs") and char not in allowed for char in text):
        raise InvalidValue(field, "must not contain control characters")
    if len(text) > limit:
        raise InvalidValue(field, f"must be at most {limit} characters")
    return text
