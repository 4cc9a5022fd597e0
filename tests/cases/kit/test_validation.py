"""Tests for cases.kit.validation: ЕНП, СНИЛС, phone, ICD-10, names, search keys, e-mail."""

from __future__ import annotations

import pytest

from cases.kit.errors import InvalidValue
from cases.kit.validation import (
    enp_check_digit,
    name_search_key,
    normalize_email,
    normalize_enp,
    normalize_icd10,
    normalize_name,
    normalize_phone,
    normalize_snils,
    snils_check_number,
)


def _luhn_valid(number: str) -> bool:
    """Textbook Luhn check, written independently of the module under test."""
    digits = [int(c) for c in number]
    odd = digits[-1::-2]
    even = [sum(divmod(2 * d, 10)) for d in digits[-2::-2]]
    return (sum(odd) + sum(even)) % 10 == 0


# --- ЕНП ---------------------------------------------------------------------

# Hand-computed: first 15 digits 123456789012345.
# Right to left, every other digit starting with the rightmost is doubled:
#   5→10→1, 3→6, 1→2, 9→18→9, 7→14→5, 5→10→1, 3→6, 1→2  => 32
# the others are added as they are: 4+2+0+8+6+4+2              => 26
# 32 + 26 = 58; check digit = (10 - 58 % 10) % 10 = 2.
HAND_COMPUTED_ENP = "1234567890123452"


def test_enp_check_digit_matches_hand_computed_example() -> None:
    assert enp_check_digit("123456789012345") == "2"
    assert _luhn_valid(HAND_COMPUTED_ENP)
    assert normalize_enp(HAND_COMPUTED_ENP) == HAND_COMPUTED_ENP


@pytest.mark.parametrize(
    "first15",
    [
        "000000000000000",
        "770000000000001",
        "500000000000009",
        "999999999999999",
        "264387459102836",
    ],
)
def test_enp_built_with_check_digit_is_valid(first15: str) -> None:
    # given
    enp = first15 + enp_check_digit(first15)
    # when / then
    assert _luhn_valid(enp)
    assert normalize_enp(enp) == enp


@pytest.mark.parametrize(
    "raw",
    [
        "1234 5678 9012 3452",
        "1234-5678-9012-3452",
        " 1234567890123452 ",
        "1234\u00a05678\u20139012 3452",
    ],
)
def test_enp_separators_are_stripped(raw: str) -> None:
    assert normalize_enp(raw) == HAND_COMPUTED_ENP


@pytest.mark.parametrize("wrong", [d for d in "0123456789" if d != "2"])
def test_enp_wrong_check_digit_is_rejected(wrong: str) -> None:
    # given
    enp = HAND_COMPUTED_ENP[:-1] + wrong
    # when
    with pytest.raises(InvalidValue) as excinfo:
        normalize_enp(enp)
    # then
    assert excinfo.value.field == "enp"
    assert "check digit" in excinfo.value.message
    assert enp not in str(excinfo.value)


def test_enp_transposed_digits_are_rejected() -> None:
    with pytest.raises(InvalidValue):
        normalize_enp("2134567890123452")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "123456789012345",
        "12345678901234520",
        "12345678901234a2",
        "1234567890123４52",
        "123456789012345²",
    ],
)
def test_enp_wrong_shape_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_enp(raw, field="patient.enp")
    assert excinfo.value.field == "patient.enp"
    assert excinfo.value.message == "must be 16 digits"


@pytest.mark.parametrize("bad", ["12345678901234", "1234567890123456", "12345678901234x"])
def test_enp_check_digit_requires_15_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="15 ASCII digits"):
        enp_check_digit(bad)


# --- СНИЛС -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["112-233-445 95", "11223344595", " 112 233 445 95 ", "112-233-445-95"]
)
def test_snils_well_known_example_is_accepted(raw: str) -> None:
    # 1·9 + 1·8 + 2·7 + 2·6 + 3·5 + 3·4 + 4·3 + 4·2 + 5·1 = 95 < 100 → check 95
    assert normalize_snils(raw) == "11223344595"


def test_snils_wrong_check_number_is_rejected() -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_snils("112-233-445 96")
    assert excinfo.value.field == "snils"
    assert "11223344596" not in str(excinfo.value)


@pytest.mark.parametrize(
    ("first9", "check", "why"),
    [
        ("112233445", "95", "sum 95 < 100: the sum itself"),
        ("222222256", "00", "sum 100 → 00"),
        ("222222257", "00", "sum 101 → 00"),
        ("222222266", "01", "sum 102 → 102 mod 101 = 1"),
        ("555555111", "00", "sum 201 → 201 mod 101 = 100 → 00"),
        ("555555112", "00", "sum 202 → 202 mod 101 = 0"),
        ("777777777", "12", "sum 315 → 315 mod 101 = 12"),
    ],
)
def test_snils_check_number(first9: str, check: str, why: str) -> None:
    assert snils_check_number(first9) == check, why
    assert normalize_snils(first9 + check) == first9 + check


@pytest.mark.parametrize("number", ["22222225600", "22222225700", "55555511100"])
def test_snils_check_100_and_101_must_be_written_as_00(number: str) -> None:
    # given: the same numbers with the raw sum ("100"/"01") instead of "00"
    assert normalize_snils(number) == number
    with pytest.raises(InvalidValue):
        normalize_snils(number[:9] + "01")


@pytest.mark.parametrize(
    "raw", ["001-001-998 00", "001-001-998 42", "000-000-001 99", "00100199800"]
)
def test_snils_small_numbers_are_not_checksummed(raw: str) -> None:
    assert normalize_snils(raw) == raw.replace("-", "").replace(" ", "")


def test_snils_first_checked_number_is_checksummed() -> None:
    # given: 001-001-999 is the first number the checksum applies to
    valid = "001001999" + snils_check_number("001001999")
    wrong = "001001999" + ("00" if valid[9:] != "00" else "01")
    # when / then
    assert normalize_snils(valid) == valid
    with pytest.raises(InvalidValue):
        normalize_snils(wrong)


@pytest.mark.parametrize(
    "raw", ["", "1122334459", "112233445955", "112-233-445 9x", "112.233.445 95"]
)
def test_snils_wrong_shape_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_snils(raw)
    assert excinfo.value.message == "must be 11 digits"


# --- Phone -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8-800-333-222-5", "+78003332225"),
        ("(8652) 56-06-68", "+78652560668"),
        ("8 (8652) 56-06-68", "+78652560668"),
        ("+7 (8652) 56-06-68", "+78652560668"),
        ("8652560668", "+78652560668"),
        ("+7 916 123-45-67", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("  +79161234567  ", "+79161234567"),
    ],
)
def test_phone_written_forms_are_normalised_to_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_phone_foreign_number_with_country_code_is_accepted() -> None:
    assert normalize_phone("+1 650 253 0000") == "+16502530000"


@pytest.mark.parametrize("raw", ["+7 000 000-00-00", "8 (000) 000-00-00", "123", "8-916-123-45"])
def test_phone_invalid_number_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_phone(raw)
    assert excinfo.value.field == "phone"
    assert excinfo.value.message == "is not a valid phone number"


@pytest.mark.parametrize("raw", ["", "   ", "abc", "телефон", "@@@"])
def test_phone_garbage_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_phone(raw, field="contact.phone")
    assert excinfo.value.field == "contact.phone"


def test_phone_extension_is_rejected_rather_than_dropped() -> None:
    with pytest.raises(InvalidValue, match="extension"):
        normalize_phone("8 (8652) 56-06-68 доб. 123")


# --- ICD-10 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I10", "I10"),
        ("i10 ", "I10"),
        ("I11.9", "I11.9"),
        ("E11.65", "E11.65"),
        (" e11.65\t", "E11.65"),
        ("A00", "A00"),
        ("Z99.9", "Z99.9"),
        ("N 18.1", "N18.1"),  # as the order writes it
    ],
)
def test_icd10_valid(raw: str, expected: str) -> None:
    assert normalize_icd10(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "I1",
        "10I",
        "Ю10",
        "І10",  # Cyrillic/Ukrainian І (U+0406), not Latin I
        "Е11.6",  # Cyrillic Е
        "ı10",  # dotless i: upper-cases to Latin I
        "I10.123",
        "I10.",
        "I100",
        "I  10",
        "I1 0",
        "I10,9",
        "II0",
        "",
    ],
)
def test_icd10_invalid(raw: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_icd10(raw)
    assert excinfo.value.field == "icd10"


# --- Names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Иванов", "Иванов"),
        ("  Иванов  ", "Иванов"),
        ("Салтыков -  Щедрин", "Салтыков - Щедрин"),
        ("Анна\tМария\nЛуиза", "Анна Мария Луиза"),
        ("Семёнов", "Семёнов"),
        ("Семе\u0308нов", "Семёнов"),  # decomposed ё is composed
    ],
)
def test_name_is_trimmed_and_collapsed(raw: str, expected: str) -> None:
    assert normalize_name(raw, field="last_name") == expected


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_name_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_name(raw, field="first_name")
    assert excinfo.value.field == "first_name"
    assert excinfo.value.message == "must not be empty"


def test_name_length_limit() -> None:
    assert normalize_name("Я" * 100, field="last_name") == "Я" * 100
    # surrounding whitespace does not count
    assert normalize_name("  " + "Я" * 100 + "  ", field="last_name") == "Я" * 100
    with pytest.raises(InvalidValue, match="at most 100"):
        normalize_name("Я" * 101, field="last_name")


def test_name_with_control_character_is_rejected() -> None:
    with pytest.raises(InvalidValue):
        normalize_name("Ива\x00нов", field="last_name")


# --- Search key --------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("Семёнов", "Пётр", "Ильич"), "семенов петр ильич"),
        (("СЕМЁНОВ", "ЁЖИКОВ"), "семенов ежиков"),
        (("Ёлкин",), "елкин"),
        (("  Иванов ", None, "", "   ", "Иван"), "иванов иван"),
        (("Салтыков  Щедрин",), "салтыков щедрин"),
        (("Семе\u0308нов",), "семенов"),
        ((), ""),
        ((None, None), ""),
    ],
)
def test_name_search_key(parts: tuple[str | None, ...], expected: str) -> None:
    assert name_search_key(*parts) == expected


def test_search_key_prefix_matches_regardless_of_case_and_yo() -> None:
    # given
    stored = name_search_key("Семёнов", "Пётр")
    # when
    typed = name_search_key("семен")
    # then
    assert stored.startswith(typed)


# --- E-mail ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ivanov@example.ru", "ivanov@example.ru"),
        ("  Ivan.Ivanov@Example.RU ", "Ivan.Ivanov@example.ru"),
        ("a+tag@mail.co.uk", "a+tag@mail.co.uk"),
        ("user@почта.рф", "user@почта.рф"),
    ],
)
def test_email_valid(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ivanov",
        "ivanov@",
        "@example.ru",
        "ivanov@example",
        "ivanov@@example.ru",
        "iva@nov@example.ru",
        "iva nov@example.ru",
        "ivanov@example..ru",
        "ivanov@.example.ru",
        "ivanov@example.ru.",
        "a" * 250 + "@example.ru",
    ],
)
def test_email_invalid(raw: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalize_email(raw)
    assert excinfo.value.field == "email"


def test_invalid_value_is_a_value_error_with_field_and_message() -> None:
    error = InvalidValue("snils", "must be 11 digits")
    assert isinstance(error, ValueError)
    assert error.field == "snils"
    assert error.message == "must be 11 digits"
    assert str(error) == "snils: must be 11 digits"
