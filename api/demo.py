"""A deterministic demo region for an empty database, from the public facts of Stavropol territory.

The facts (``../shared/domain``): two insurers with their hotlines, 86 first-level, 45 second-level
and 12 third-level representatives, and the territorial fund's (ТФОМС СК) single contact centre
8-800-707-11-35. The fund has no table, so its number lives here as ``TFOMS_CONTACT_CENTRE``.
Everything about people is synthetic: names are drawn from short lists of common surnames, ЕНП
and СНИЛС are random numbers with valid check digits, e-mail addresses use the reserved
``.example`` domain. Phone numbers are well-formed Russian mobile numbers and may exist, so a
demo database must never be connected to a real SMS gateway. Clinic names follow the style of
the region's clinics; their codes and addresses are made up.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col

from cases.kit.validation import (
    enp_check_digit,
    name_search_key,
    normalize_phone,
    snils_check_number,
)
from cases.patients.models import Channel, NotificationConsent, Patient, Sex
from cases.registry.models import DeskHours, Insurer, MedicalOrganization, Representative
from cases.reminders.models import Reminder, ReminderKind, ReminderStatus, SkipReason
from cases.reminders.outbox import outbox_row
from cases.reminders.policy import reminder_key
from cases.supervision.annexes import Plan, PlanSource
from cases.supervision.calendar import opened_late
from cases.supervision.models import (
    CaseSource,
    CaseStatus,
    CloseReason,
    SupervisionCase,
    Visit,
    VisitStatus,
)
from cases.supervision.policy import DEFAULT_GRACE_DAYS, due_date, window_days
from cases.supervision.rules import RulesTable, SupervisionRuleService
from cases.supervision.service import SupervisionService
from cases.worklist.models import (
    ContactAttempt,
    ContactMethod,
    ContactOutcome,
    WorkItem,
    WorkItemStatus,
)
from cases.worklist.policy import missed_visit_dedup_key, missed_visit_work_item, work_item_row

TFOMS_CONTACT_CENTRE: Final = normalize_phone("8-800-707-11-35")


REGION_TIME_ZONE: Final = "Europe/Moscow"


_ZONE: Final = ZoneInfo(REGION_TIME_ZONE)


# Representatives per level in the region, as published.
LEVEL_COUNTS: Final = {1: 86, 2: 45, 3: 12}


PATIENTS_PER_TRANSACTION: Final = 500


# Stands for a foreign key that is filled in once the referenced row has an id.
_UNSAVED: Final = 0


_SEED_ACTOR: Final = "seed-demo"


# The keys of seed_region's answer: tables, in the order they are filled.
TABLES: Final = (
    "insurers",
    "clinics",
    "representatives",
    "desk_hours",
    "patients",
    "notification_consents",
    "cases",
    "visits",
    "reminders",
    "work_items",
    "contact_attempts",
)


_T = TypeVar("_T")


@dataclass(frozen=True)
class _InsurerSpec:
    code: str
    name: str
    hotline: str
    share: float
    email_domain: str


INSURERS: Final = (
    _InsurerSpec(
        "VTB-MS", "Ставропольский филиал ООО ВТБ МС", "8-800-333-222-5", 0.6, "vtb-ms.example"
    ),
    _InsurerSpec(
        "INGOS-M",
        "Филиал ООО «СК «Ингосстрах-М» в г. Ставрополе",
        "(8652) 56-06-68",
        0.4,
        "ingos-m.example",
    ),
)


@dataclass(frozen=True)
class _Town:
    name: str
    postcode: str
    landline_prefix: str


_STAVROPOL: Final = _Town("г. Ставрополь", "3550", "8652")


_PYATIGORSK: Final = _Town("г. Пятигорск", "3575", "8793")


_KISLOVODSK: Final = _Town("г. Кисловодск", "3577", "87937")


_ESSENTUKI: Final = _Town("г. Ессентуки", "3576", "87934")


_NEVINNOMYSSK: Final = _Town("г. Невинномысск", "3571", "86554")


_MIKHAILOVSK: Final = _Town("г. Михайловск", "3562", "86553")


_MINVODY: Final = _Town("г. Минеральные Воды", "3572", "87922")


_GEORGIEVSK: Final = _Town("г. Георгиевск", "3578", "87951")


_BUDYONNOVSK: Final = _Town("г. Будённовск", "3568", "86559")


_IZOBILNY: Final = _Town("г. Изобильный", "3561", "86545")


# (name, town, relative size of the attached population)
CLINICS: Final = (
    ("ГБУЗ СК «Городская поликлиника № 1» г. Ставрополя", _STAVROPOL, 12),
    ("ГБУЗ СК «Городская поликлиника № 2» г. Ставрополя", _STAVROPOL, 10),
    ("ГБУЗ СК «Городская поликлиника № 3» г. Ставрополя", _STAVROPOL, 10),
    ("ГБУЗ СК «Городская поликлиника № 4» г. Ставрополя", _STAVROPOL, 8),
    ("ГБУЗ СК «Городская поликлиника № 6» г. Ставрополя", _STAVROPOL, 8),
    ("ГБУЗ СК «Пятигорская городская поликлиника № 1»", _PYATIGORSK, 8),
    ("ГБУЗ СК «Пятигорская городская поликлиника № 3»", _PYATIGORSK, 6),
    ("ГБУЗ СК «Кисловодская городская больница»", _KISLOVODSK, 6),
    ("ГБУЗ СК «Ессентукская городская поликлиника»", _ESSENTUKI, 5),
    ("ГБУЗ СК «Невинномысская городская больница»", _NEVINNOMYSSK, 7),
    ("ГБУЗ СК «Шпаковская районная больница»", _MIKHAILOVSK, 5),
    ("ГБУЗ СК «Минераловодская районная больница»", _MINVODY, 5),
    ("ГБУЗ СК «Георгиевская районная больница»", _GEORGIEVSK, 4),
    ("ГБУЗ СК «Будённовская районная больница»", _BUDYONNOVSK, 3),
    ("ГБУЗ СК «Изобильненская районная больница»", _IZOBILNY, 3),
)


STREETS: Final = (
    "ул. Ленина",
    "ул. Мира",
    "ул. Октябрьская",
    "ул. Советская",
    "ул. Пушкина",
    "ул. Гагарина",
    "ул. Комсомольская",
    "ул. Садовая",
    "ул. Московская",
    "пр-т Кулакова",
    "ул. Доваторцев",
    "ул. 50 лет ВЛКСМ",
)


# Masculine forms; _surname() derives the feminine one. Surnames in -ко and -ян do not change.
SURNAMES: Final = (
    "Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
    "Калинин", "Ильин", "Кузьмин", "Фролов", "Белоусов", "Покровский", "Вишневский", "Трубецкой",
    "Шевченко", "Бондаренко", "Ткаченко", "Кравченко", "Коваленко", "Лысенко",
    "Арутюнян", "Саркисян", "Григорян",
)  # fmt: skip


MALE_FIRST_NAMES: Final = (
    "Александр", "Сергей", "Владимир", "Николай", "Андрей", "Алексей", "Виктор", "Юрий",
    "Михаил", "Иван", "Дмитрий", "Геннадий", "Анатолий", "Пётр", "Василий", "Григорий",
    "Евгений", "Олег",
)  # fmt: skip


FEMALE_FIRST_NAMES: Final = (
    "Наталья", "Елена", "Ольга", "Татьяна", "Светлана", "Ирина", "Людмила", "Галина",
    "Валентина", "Надежда", "Любовь", "Нина", "Марина", "Анна", "Тамара", "Лидия", "Алёна",
    "Юлия",
)  # fmt: skip


# (male, female) patronymics from the same father's name.
PATRONYMICS: Final = (
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
    ("Владимирович", "Владимировна"),
    ("Николаевич", "Николаевна"),
    ("Иванович", "Ивановна"),
    ("Петрович", "Петровна"),
    ("Васильевич", "Васильевна"),
    ("Михайлович", "Михайловна"),
    ("Викторович", "Викторовна"),
    ("Юрьевич", "Юрьевна"),
    ("Анатольевич", "Анатольевна"),
    ("Григорьевич", "Григорьевна"),
    ("Фёдорович", "Фёдоровна"),
    ("Алексеевич", "Алексеевна"),
    ("Ильич", "Ильинична"),
)


_TRANSLIT: Final = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
    }
)  # fmt: skip


# Chronic conditions common under dispensary supervision, with relative frequency.
DIAGNOSES: Final = (
    ("I10", 22),  # essential hypertension
    ("I11.9", 14),  # hypertensive heart disease without heart failure
    ("I25.1", 10),  # atherosclerotic heart disease
    ("I25.2", 4),  # old myocardial infarction
    ("I69.3", 3),  # sequelae of cerebral infarction
    ("E11.9", 12),  # type 2 diabetes without complications
    ("E78.0", 6),  # pure hypercholesterolaemia
    ("N18.3", 5),  # chronic kidney disease, stage 3
    ("J44.9", 6),  # COPD
    ("J45.9", 5),  # asthma
)


# The visits a year clinics plan where they send their own number.
VISITS_PER_YEAR: Final = ((1, 30), (2, 35), (3, 10), (4, 25))
DEFAULT_VISITS_PER_YEAR: Final = 1
# The specialist who supervises some of the cases of a code instead of the therapist.
SPECIALISTS: Final = {
    "I10": "cardiologist",
    "I11.9": "cardiologist",
    "I25.1": "cardiologist",
    "I25.2": "cardiologist",
    "E78.0": "cardiologist",
}


CLOSE_REASONS: Final = (
    (CloseReason.MOVED_AWAY, 30),
    (CloseReason.TRANSFERRED, 25),
    (CloseReason.REMOVED_BY_PHYSICIAN, 15),
    (CloseReason.REFUSED, 10),
    (CloseReason.RECOVERED, 10),
    (CloseReason.DECEASED, 10),
)


MOBILE_PREFIXES: Final = ("918", "928", "961", "962", "988", "905", "906")


RESOLUTIONS: Final = (
    (ContactOutcome.WILL_ATTEND, "Дозвонились, пациент записан на приём"),
    (ContactOutcome.REACHED, "Дозвонились, пациент придёт в следующее окно"),
    (ContactOutcome.REFUSED, "Пациент отказался от визита, разъяснены последствия"),
)


@dataclass
class _FollowUp:
    work_item: WorkItem
    attempt: ContactAttempt | None


@dataclass
class _VisitPlan:
    visit: Visit
    reminders: list[Reminder] = field(default_factory=list)
    follow_up: _FollowUp | None = None


@dataclass
class _CasePlan:
    case: SupervisionCase
    visits: list[_VisitPlan] = field(default_factory=list)


@dataclass
class _PatientPlan:
    patient: Patient
    consents: list[NotificationConsent]
    cases: list[_CasePlan]


@dataclass(frozen=True)
class _Clinic:
    id: int
    code: str
    town: _Town


@dataclass
class _Region:
    """What the patient generator needs of the reference rows, by id."""

    clinics: list[_Clinic]
    clinic_weights: list[int]
    # insurer id -> (share of patients, third-level representative ids owning caseloads)
    insurers: list[tuple[int, float, list[int]]]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """The aware UTC instant of a local wall-clock time in the region."""
    return datetime.combine(day, time(hour, minute), tzinfo=_ZONE).astimezone(UTC)


def _saved_id(row: SQLModel) -> int:
    row_id = getattr(row, "id", None)
    if not isinstance(row_id, int):
        raise RuntimeError(f"{type(row).__name__} has no id yet")
    return row_id


def _weighted(rng: random.Random, options: Sequence[tuple[_T, int]]) -> _T:
    values = [value for value, _ in options]
    return rng.choices(values, weights=[weight for _, weight in options])[0]


def _surname(masculine: str, sex: Sex) -> str:
    if sex is Sex.MALE:
        return masculine
    if masculine.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return masculine + "а"
    if masculine.endswith(("ский", "цкий")):
        return masculine[:-2] + "ая"
    if masculine.endswith("ской"):
        return masculine[:-2] + "ая"
    return masculine


def _person(rng: random.Random, sex: Sex) -> tuple[str, str, str]:
    """A synthetic (last, first, middle) name with endings that agree with the sex."""
    male = sex is Sex.MALE
    first = rng.choice(MALE_FIRST_NAMES if male else FEMALE_FIRST_NAMES)
    middle = rng.choice(PATRONYMICS)[0 if male else 1]
    return _surname(rng.choice(SURNAMES), sex), first, middle


def _latin(text: str) -> str:
    return text.lower().translate(_TRANSLIT)


def _phone(rng: random.Random, prefix: str) -> str:
    """A valid E.164 number: the given prefix after +7, padded with random digits to 10."""
    for _ in range(100):
        digits = prefix + "".join(str(rng.randrange(10)) for _ in range(10 - len(prefix)))
        if digits[len(prefix)] == "0":
            continue
        try:
            return normalize_phone("+7" + digits)
        except ValueError:
            continue
    raise RuntimeError(f"no valid phone number found under prefix {prefix}")


def _address(rng: random.Random, town: _Town, flat: bool) -> str:
    postcode = f"{town.postcode}{rng.randrange(100):02d}"
    house = f"{rng.choice(STREETS)}, д. {rng.randint(1, 320)}"
    suffix = f", кв. {rng.randint(1, 180)}" if flat else ""
    return f"{postcode}, Ставропольский край, {town.name}, {house}{suffix}"


async def _seed_reference(
    session: AsyncSession, rng: random.Random, today: date, counts: Counter[str]
) -> _Region:
    created_at = _at(today - timedelta(days=5 * 365 + 30), 9)
    insurers = [
        Insurer(
            code=spec.code,
            name=spec.name,
            hotline_phone=normalize_phone(spec.hotline),
            created_at=created_at,
        )
        for spec in INSURERS
    ]
    clinics = [
        MedicalOrganization(
            code=f"2600{number:02d}",
            name=name,
            address=_address(rng, town, flat=False),
            time_zone=REGION_TIME_ZONE,
            created_at=created_at,
        )
        for number, (name, town, _) in enumerate(CLINICS, start=1)
    ]
    session.add_all([*insurers, *clinics])
    await session.flush()

    representatives: list[Representative] = []
    caseload_owners: dict[int, list[Representative]] = {}
    for position, (spec, insurer) in enumerate(zip(INSURERS, insurers, strict=True)):
        insurer_id = _saved_id(insurer)
        caseload_owners[insurer_id] = []
        for level, total in LEVEL_COUNTS.items():
            # The first insurer takes its share rounded; the last takes what is left.
            first_share = round(total * INSURERS[0].share)
            count = first_share if position == 0 else total - first_share
            for number in range(count):
                sex = Sex.FEMALE if rng.random() < 0.75 else Sex.MALE
                last, first, middle = _person(rng, sex)
                representative = Representative(
                    insurer_id=insurer_id,
                    level=level,
                    last_name=last,
                    first_name=first,
                    middle_name=middle,
                    phone=_phone(rng, "8652"),
                    email=f"{_latin(first)[0]}.{_latin(last)}{level}{number}@{spec.email_domain}",
                    # The first third-level representative of each insurer supervises the others.
                    is_supervisor=level == 3 and number == 0,
                    # A login to try the service as them: `dispensary dev-token --representative`.
                    subject=f"demo:{spec.code.lower()}:{level}-{number + 1}",
                    created_at=created_at,
                )
                representatives.append(representative)
                if level == 3 and number > 0:
                    caseload_owners[insurer_id].append(representative)
    session.add_all(representatives)
    await session.flush()

    clinic_ids = [_saved_id(clinic) for clinic in clinics]
    desk_hours: list[DeskHours] = []
    for owners in caseload_owners.values():
        for representative in owners[::2]:
            for clinic_id in rng.sample(clinic_ids, 2):
                morning = rng.random() < 0.5
                desk_hours.append(
                    DeskHours(
                        representative_id=_saved_id(representative),
                        clinic_id=clinic_id,
                        weekday=rng.randrange(5),
                        starts_at=time(9, 0) if morning else time(14, 0),
                        ends_at=time(13, 0) if morning else time(17, 0),
                    )
                )
    session.add_all(desk_hours)
    await session.flush()

    counts["insurers"] = len(insurers)
    counts["clinics"] = len(clinics)
    counts["representatives"] = len(representatives)
    counts["desk_hours"] = len(desk_hours)
    return _Region(
        clinics=[
            _Clinic(_saved_id(clinic), clinic.code, town)
            for clinic, (_, town, _) in zip(clinics, CLINICS, strict=True)
        ],
        clinic_weights=[weight for _, _, weight in CLINICS],
        insurers=[
            (
                _saved_id(insurer),
                spec.share,
                [_saved_id(r) for r in caseload_owners[_saved_id(insurer)]],
            )
            for spec, insurer in zip(INSURERS, insurers, strict=True)
        ],
    )


def planned_by_clinics(
    rules: RulesTable,
    icd10: str,
    specialty: str | None,
    sent: int | None,
    usual: Callable[[], int],
) -> tuple[Plan, int | None]:
    """A case's plan as a demo region's clinics report it: the rules table's, with the clinic's
    own number where it `sent` one, and where the order gives none (a `clinical` row) the
    clinic's `usual` plan (the demo region and the benchmark's share it)."""
    plan = rules.plan(icd10, specialty, sent, DEFAULT_VISITS_PER_YEAR)
    if plan[0].source is PlanSource.REGION_DEFAULT and plan[0].rule is not None:
        plan = rules.plan(icd10, specialty, usual(), DEFAULT_VISITS_PER_YEAR)
    return plan


class _PatientGenerator:
    """Draws patients, cases and visit histories from one random stream, in a fixed order."""

    def __init__(
        self, rng: random.Random, region: _Region, today: date, now: datetime, rules: RulesTable
    ) -> None:
        self.rng = rng
        self.region = region
        self.rules = rules
        self.today = today
        self.now = now
        self.enps: set[str] = set()
        self.snilses: set[str] = set()
        self.external_ids: Counter[str] = Counter()

    def _stamp(self, day: date, hour: int) -> datetime:
        """When something of `day` happened: at `hour` local time, or now if that is later."""
        return min(_at(day, hour), self.now)

    def _enp(self) -> str:
        while True:
            first15 = str(self.rng.randrange(10**14, 10**15))
            enp = first15 + enp_check_digit(first15)
            if enp not in self.enps:
                self.enps.add(enp)
                return enp

    def _snils(self) -> str:
        while True:
            # Check numbers are defined only above 001-001-998.
            first9 = f"{self.rng.randrange(1_001_999, 999_999_999):09d}"
            snils = first9 + snils_check_number(first9)
            if snils not in self.snilses:
                self.snilses.add(snils)
                return snils

    def patient(self) -> _PatientPlan:
        rng = self.rng
        sex = Sex.FEMALE if rng.random() < 0.56 else Sex.MALE
        last, first, middle = _person(rng, sex)
        age_days = (
            rng.randint(40 * 365, 85 * 365)
            if rng.random() < 0.9
            else rng.randint(18 * 365, 40 * 365)
        )
        clinic = rng.choices(self.region.clinics, weights=self.region.clinic_weights)[0]
        insurer_id, _, owners = rng.choices(
            self.region.insurers, weights=[share for _, share, _ in self.region.insurers]
        )[0]
        phone = _phone(rng, rng.choice(MOBILE_PREFIXES)) if rng.random() < 0.95 else None
        phone_extra = _phone(rng, clinic.town.landline_prefix) if rng.random() < 0.1 else None
        email = (
            f"{_latin(last)}.{_latin(first)[0]}{rng.randrange(100, 1000)}@mail.example"
            if rng.random() < 0.3
            else None
        )
        postal_address = (
            _address(rng, clinic.town, flat=rng.random() < 0.7) if rng.random() < 0.9 else None
        )
        registered_on = self.today - timedelta(days=rng.randint(5 * 365 + 1, 8 * 365))
        patient = Patient(
            enp=self._enp(),
            snils=self._snils() if rng.random() < 0.92 else None,
            last_name=last,
            first_name=first,
            middle_name=middle,
            search_name=name_search_key(last, first, middle),
            birth_date=self.today - timedelta(days=age_days),
            sex=sex,
            phone=phone,
            phone_extra=phone_extra,
            email=email,
            postal_address=postal_address,
            time_zone=REGION_TIME_ZONE,
            insurer_id=insurer_id,
            attached_clinic_id=clinic.id,
            created_at=self._stamp(registered_on, 10),
            updated_at=self._stamp(registered_on, 10),
        )
        consents = self._consents(patient, registered_on)
        adherence = rng.choices([0.95, 0.85, 0.6], weights=[50, 35, 15])[0]
        diagnoses = {_weighted(rng, DIAGNOSES) for _ in range(1 if rng.random() < 0.7 else 2)}
        cases = [
            self._case(patient, icd10, clinic, owners, consents, adherence, len(diagnoses) == 1)
            for icd10 in sorted(diagnoses)
        ]
        return _PatientPlan(patient, consents, cases)

    def _consents(self, patient: Patient, registered_on: date) -> list[NotificationConsent]:
        rng = self.rng
        wanted = [
            (Channel.SMS, patient.phone is not None, 0.9),
            (Channel.EMAIL, patient.email is not None, 0.85),
            (Channel.POST, patient.postal_address is not None, 0.95),
        ]
        consents: list[NotificationConsent] = []
        for channel, reachable, share_granted in wanted:
            if not reachable:
                continue
            granted = rng.random() < share_granted
            method = "written form" if granted or channel is not Channel.SMS else "sms STOP"
            changed_on = registered_on + timedelta(days=rng.randint(0, 4 * 365))
            consents.append(
                NotificationConsent(
                    patient_id=_UNSAVED,
                    channel=channel,
                    granted=granted,
                    changed_at=self._stamp(min(changed_on, self.today), 11),
                    method=method,
                )
            )
        return consents

    def _case(
        self,
        patient: Patient,
        icd10: str,
        attached: _Clinic,
        owners: list[int],
        consents: list[NotificationConsent],
        adherence: float,
        only_case: bool,
    ) -> _CasePlan:
        rng = self.rng
        clinic = attached if rng.random() < 0.9 else rng.choice(self.region.clinics)
        opened_on = self.today - timedelta(days=rng.randint(365, 5 * 365))
        closed_on: date | None = None
        close_reason: CloseReason | None = None
        if rng.random() < 0.07:
            closed_on = opened_on + timedelta(
                days=rng.randint(90, (self.today - opened_on).days - 1)
            )
            # A death would close every case of the patient at once; keep it to single cases.
            close_reason = _weighted(
                rng,
                [
                    (reason, weight)
                    for reason, weight in CLOSE_REASONS
                    if only_case or reason is not CloseReason.DECEASED
                ],
            )
        doctor_sex = Sex.FEMALE if rng.random() < 0.7 else Sex.MALE
        doctor_last, doctor_first, doctor_middle = _person(rng, doctor_sex)
        changed_on = closed_on or opened_on
        # The plan follows the rules table: the specialty that supervises, and the clinic's own
        # number where the order gives none (type 2 diabetes) or, now and then, where it does.
        specialty = SPECIALISTS.get(icd10) if rng.random() < 0.2 else None
        clinic_plan = _weighted(rng, VISITS_PER_YEAR) if rng.random() < 0.1 else None
        plan, rule_id = planned_by_clinics(
            self.rules, icd10, specialty, clinic_plan, lambda: _weighted(rng, VISITS_PER_YEAR)
        )
        diagnosed_on = opened_on - timedelta(days=rng.choice((1, 2, 3, 5, 8)))
        case = SupervisionCase(
            patient_id=_UNSAVED,
            icd10=icd10,
            clinic_id=clinic.id,
            physician_name=f"{doctor_last} {doctor_first[0]}. {doctor_middle[0]}.",
            opened_on=opened_on,
            visits_per_year=1,
            diagnosed_on=diagnosed_on,
            opened_late=opened_late(diagnosed_on, opened_on),
            representative_id=rng.choice(owners),
            status=CaseStatus.CLOSED if closed_on else CaseStatus.ACTIVE,
            closed_on=closed_on,
            close_reason=close_reason,
            source=CaseSource.CLINIC if rng.random() < 0.8 else CaseSource.MANUAL,
            created_at=self._stamp(opened_on, 10),
            updated_at=self._stamp(changed_on, 10),
        )
        SupervisionService.apply_plan(case, plan, rule_id, self.today)
        return _CasePlan(case, self._visits(case, clinic, patient, consents, adherence))

    def _visits(
        self,
        case: SupervisionCase,
        clinic: _Clinic,
        patient: Patient,
        consents: list[NotificationConsent],
        adherence: float,
    ) -> list[_VisitPlan]:
        """Past windows with their outcomes, and the next window(s) still to come."""
        rng = self.rng
        today = self.today
        length = timedelta(days=window_days(case.visits_per_year))
        plans: list[_VisitPlan] = []
        previous_outcome: VisitStatus | None = None
        number = 1
        while True:
            previous_due = due_date(case.opened_on, case.visits_per_year, number - 1)
            start = due_date(case.opened_on, case.visits_per_year, number)
            end = start + length
            number += 1
            if case.closed_on is not None and start > case.closed_on:
                break
            visit = Visit(
                case_id=_UNSAVED,
                clinic_id=clinic.id,
                window_start=start,
                window_end=end,
                created_at=self._stamp(max(case.opened_on, previous_due), 10),
                updated_at=self._stamp(max(case.opened_on, previous_due), 10),
            )
            plan = _VisitPlan(visit)
            plans.append(plan)
            if case.closed_on is not None and (
                end >= case.closed_on or end >= today - timedelta(days=DEFAULT_GRACE_DAYS)
            ):
                # Closing a case cancels the visits it still had ahead.
                self._cancel(visit, case.closed_on, "case_closed")
                continue
            if start > today:
                self._plan_ahead(plan, case, patient, consents)
                break
            if end < today - timedelta(days=DEFAULT_GRACE_DAYS):
                roll = rng.random()
                if roll < 0.05:
                    self._cancel(visit, start, "clinic_rescheduled")
                elif roll < 0.05 + 0.95 * adherence:
                    self._attend(visit, clinic, min(end, today))
                else:
                    self._miss(plan, case, escalate=previous_outcome is VisitStatus.MISSED)
            elif rng.random() < 0.4:
                self._attend(visit, clinic, min(end, today))
            else:
                # The window is open, or closed within the grace period: still planned, and
                # the next window is only planned once this one is attended.
                self._plan_ahead(plan, case, patient, consents)
                break
            if visit.status in (VisitStatus.ATTENDED, VisitStatus.MISSED):
                previous_outcome = visit.status
        return plans

    def _cancel(self, visit: Visit, on: date, reason: str) -> None:
        visit.status = VisitStatus.CANCELLED
        visit.reason_code = reason
        visit.changed_by = _SEED_ACTOR
        visit.updated_at = max(visit.created_at, self._stamp(min(on, self.today), 11))

    def _attend(self, visit: Visit, clinic: _Clinic, last_day: date) -> None:
        attended_on = visit.window_start + timedelta(
            days=self.rng.randint(0, (last_day - visit.window_start).days)
        )
        self.external_ids[clinic.code] += 1
        visit.status = VisitStatus.ATTENDED
        visit.attended_on = attended_on
        visit.external_id = f"{clinic.code}-{self.external_ids[clinic.code]:07d}"
        visit.changed_by = f"clinic:{clinic.code}"
        visit.updated_at = max(visit.created_at, self._stamp(attended_on, 18))

    def _miss(self, plan: _VisitPlan, case: SupervisionCase, *, escalate: bool) -> None:
        """Marked by the missed-visit scan; like the scan, a second miss in a row escalates."""
        rng = self.rng
        visit = plan.visit
        missed_at = _at(visit.window_end + timedelta(days=DEFAULT_GRACE_DAYS + 1), 3)
        visit.status = VisitStatus.MISSED
        visit.missed_at = missed_at
        visit.changed_by = "job:visits.flag_missed"
        visit.updated_at = missed_at
        kind, priority = missed_visit_work_item(second_in_a_row=escalate)
        work_item = WorkItem(
            **work_item_row(
                kind=kind,
                owner_id=case.representative_id,
                patient_id=_UNSAVED,
                priority=priority,
                due_at=missed_at,
                # Made from the visit id once the visit has one, as the scan keys it.
                dedup_key=None,
                now=missed_at,
            )
        )
        attempt: ContactAttempt | None = None
        attempt_method = ContactMethod.CALL if rng.random() < 0.9 else ContactMethod.LETTER
        if missed_at < self.now - timedelta(days=30) or case.closed_on is not None:
            outcome, resolution = rng.choice(RESOLUTIONS)
            resolved_at = min(missed_at + timedelta(days=rng.randint(1, 14), hours=7), self.now)
            work_item.status = WorkItemStatus.DONE
            work_item.resolution = resolution
            work_item.resolved_at = resolved_at
            attempt = self._attempt(case, attempt_method, outcome, resolved_at)
        elif rng.random() < 0.5:
            work_item.status = WorkItemStatus.IN_PROGRESS
            attempted_at = min(missed_at + timedelta(days=1, hours=7), self.now)
            attempt = self._attempt(
                case, ContactMethod.CALL, ContactOutcome.NO_ANSWER, attempted_at
            )
        plan.follow_up = _FollowUp(work_item, attempt)

    def _attempt(
        self, case: SupervisionCase, method: ContactMethod, outcome: ContactOutcome, at: datetime
    ) -> ContactAttempt:
        if case.representative_id is None:
            raise RuntimeError("a supervision case without a representative")
        return ContactAttempt(
            patient_id=_UNSAVED,
            representative_id=case.representative_id,
            method=method,
            outcome=outcome,
            attempted_at=at,
        )

    def _plan_ahead(
        self,
        plan: _VisitPlan,
        case: SupervisionCase,
        patient: Patient,
        consents: list[NotificationConsent],
    ) -> None:
        """A planned visit: maybe booked, and with the reminders the outbox would hold for it."""
        rng = self.rng
        visit = plan.visit
        first_day = max(visit.window_start, self.today + timedelta(days=1))
        booked_days = (visit.window_end - first_day).days
        # Appointments are booked for the coming month only.
        soon = visit.window_start <= self.today + timedelta(days=30)
        if booked_days >= 0 and soon and rng.random() < 0.5:
            day = first_day + timedelta(days=rng.randint(0, booked_days))
            visit.appointment_at = _at(day, rng.randint(8, 16), rng.choice((0, 15, 30, 45)))
        # SMS first, then e-mail: the first rungs of the channel ladder.
        channel = next(
            (
                consent.channel
                for consent in consents
                if consent.granted and consent.channel in (Channel.SMS, Channel.EMAIL)
            ),
            None,
        )
        unreachable = (
            SkipReason.NO_CONTACT
            if patient.phone is None and patient.email is None
            else SkipReason.NO_CONSENT
        )
        if visit.window_start <= self.today + timedelta(days=14):
            plan.reminders.append(
                self._reminder(ReminderKind.INVITATION, channel, unreachable, visit.window_start)
            )
        if visit.appointment_at is not None:
            appointment_day = visit.appointment_at.astimezone(_ZONE).date()
            for kind, days in (
                (ReminderKind.APPOINTMENT_3_DAYS, 3),
                (ReminderKind.APPOINTMENT_1_DAY, 1),
            ):
                day = appointment_day - timedelta(days=days)
                if day > self.today:
                    plan.reminders.append(self._reminder(kind, channel, unreachable, day))

    def _reminder(
        self, kind: ReminderKind, channel: Channel | None, unreachable: SkipReason, day: date
    ) -> Reminder:
        """Due at 10:00 local time on `day`: delivered or skipped if that is past, else pending."""
        scheduled_for = _at(day, 10)
        reminder = Reminder(
            **outbox_row(
                patient_id=_UNSAVED,
                case_id=None,
                visit_id=None,
                kind=kind,
                channel=channel or Channel.SMS,
                template=kind.value,
                scheduled_for=scheduled_for,
                # Made from the visit id once the visit has one.
                idempotency_key="",
                now=min(scheduled_for, self.now),
            )
        )
        if scheduled_for > self.now:
            return reminder
        if channel is None:
            reminder.status = ReminderStatus.SKIPPED
            reminder.skip_reason = unreachable
            return reminder
        reminder.status = ReminderStatus.DELIVERED
        reminder.attempts = 1
        reminder.sent_at = scheduled_for
        reminder.delivered_at = min(scheduled_for + timedelta(minutes=2), self.now)
        reminder.updated_at = reminder.delivered_at
        return reminder


async def _insert(session: AsyncSession, model: type[SQLModel], rows: Sequence[SQLModel]) -> None:
    """One executemany INSERT without RETURNING.

    SQLite cannot batch an INSERT ... RETURNING whose rows must come back in order, so the ORM
    would send one statement per row; callers read the new ids back by a natural key instead.
    """
    if rows:
        await session.execute(
            sa.insert(model),
            [row.model_dump(exclude={"id"}) for row in rows],
            # Every row names every column, so all of them go to the driver in one batch.
            execution_options={"render_nulls": True},
        )


async def _insert_patients(
    session: AsyncSession, plans: list[_PatientPlan], counts: Counter[str]
) -> None:
    """Insert one chunk level by level, setting foreign keys once the parent rows have ids."""
    await _insert(session, Patient, [plan.patient for plan in plans])
    patient_ids: dict[str, int] = {
        enp: patient_id
        for enp, patient_id in await session.execute(
            sa.select(col(Patient.enp), col(Patient.id)).where(
                col(Patient.enp).in_([plan.patient.enp for plan in plans])
            )
        )
        if patient_id is not None
    }
    consents: list[NotificationConsent] = []
    cases: list[SupervisionCase] = []
    for plan in plans:
        plan.patient.id = patient_ids[plan.patient.enp]
        for consent in plan.consents:
            consent.patient_id = plan.patient.id
            consents.append(consent)
        for case_plan in plan.cases:
            case_plan.case.patient_id = plan.patient.id
            cases.append(case_plan.case)
    await _insert(session, NotificationConsent, consents)
    await _insert(session, SupervisionCase, cases)

    # A patient's cases have distinct diagnoses.
    case_ids: dict[tuple[int, str], int] = {
        (patient_id, icd10): case_id
        for case_id, patient_id, icd10 in await session.execute(
            sa.select(
                col(SupervisionCase.id), col(SupervisionCase.patient_id), col(SupervisionCase.icd10)
            ).where(col(SupervisionCase.patient_id).in_(patient_ids.values()))
        )
        if case_id is not None
    }
    visits: list[Visit] = []
    for plan in plans:
        for case_plan in plan.cases:
            case = case_plan.case
            case.id = case_ids[(case.patient_id, case.icd10)]
            for visit_plan in case_plan.visits:
                visit_plan.visit.case_id = case.id
                visits.append(visit_plan.visit)
    await _insert(session, Visit, visits)

    # A case's windows start on distinct days.
    visit_ids: dict[tuple[int, date], int] = {
        (case_id, window_start): visit_id
        for visit_id, case_id, window_start in await session.execute(
            sa.select(col(Visit.id), col(Visit.case_id), col(Visit.window_start)).where(
                col(Visit.case_id).in_(case_ids.values())
            )
        )
        if visit_id is not None
    }
    reminders: list[Reminder] = []
    work_items: list[WorkItem] = []
    for plan in plans:
        patient_id = _saved_id(plan.patient)
        for case_plan in plan.cases:
            case_id = _saved_id(case_plan.case)
            for visit_plan in case_plan.visits:
                visit_id = visit_ids[(case_id, visit_plan.visit.window_start)]
                for reminder in visit_plan.reminders:
                    reminder.patient_id = patient_id
                    reminder.case_id = case_id
                    reminder.visit_id = visit_id
                    reminder.idempotency_key = reminder_key(
                        visit_id,
                        ReminderKind(reminder.kind),
                        reminder.scheduled_for.astimezone(_ZONE).date(),
                    )
                    reminders.append(reminder)
                if visit_plan.follow_up is not None:
                    work_item = visit_plan.follow_up.work_item
                    work_item.patient_id = patient_id
                    work_item.case_id = case_id
                    work_item.visit_id = visit_id
                    work_item.dedup_key = missed_visit_dedup_key(visit_id)
                    work_items.append(work_item)
    await _insert(session, Reminder, reminders)
    await _insert(session, WorkItem, work_items)

    work_item_ids: dict[str | None, int] = {
        dedup_key: work_item_id
        for work_item_id, dedup_key in await session.execute(
            sa.select(col(WorkItem.id), col(WorkItem.dedup_key)).where(
                col(WorkItem.patient_id).in_(patient_ids.values())
            )
        )
        if work_item_id is not None
    }
    attempts: list[ContactAttempt] = []
    for plan in plans:
        for case_plan in plan.cases:
            for visit_plan in case_plan.visits:
                follow_up = visit_plan.follow_up
                if follow_up is None or follow_up.attempt is None:
                    continue
                # A missed visit's work item always names its patient.
                follow_up.attempt.patient_id = follow_up.work_item.patient_id  # type: ignore[assignment]
                follow_up.attempt.case_id = follow_up.work_item.case_id
                follow_up.attempt.work_item_id = work_item_ids[follow_up.work_item.dedup_key]
                attempts.append(follow_up.attempt)
    await _insert(session, ContactAttempt, attempts)

    counts["patients"] += len(plans)
    counts["notification_consents"] += len(consents)
    counts["cases"] += len(cases)
    counts["visits"] += len(visits)
    counts["reminders"] += len(reminders)
    counts["work_items"] += len(work_items)
    counts["contact_attempts"] += len(attempts)


async def seed_region(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    patients: int = 3000,
    seed: int = 1,
    progress: bool = True,
    today: date | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Fill an empty database with a demo region and return how many rows each table received.

    The same ``seed`` and ``today`` give the same rows. Nothing in them happened after ``now``
    (by default the present instant, or noon of ``today`` when only that is given). Patients
    are committed in chunks of ``PATIENTS_PER_TRANSACTION``; a failure leaves the chunks
    before it in place.
    """
    if patients < 0:
        raise ValueError("patients must not be negative")
    rng = random.Random(seed)
    if now is None:
        now = _at(today, 12) if today is not None else datetime.now(UTC)
    today = today or now.astimezone(_ZONE).date()
    counts: Counter[str] = Counter()
    async with session_factory() as session:
        if (await session.execute(sa.select(sa.func.count()).select_from(Insurer))).scalar_one():
            raise ValueError(
                "the database already holds a region; seed-demo fills an empty database"
            )
    with Progress(disable=not progress) as bar:
        reference = bar.add_task("Insurers, clinics, representatives", total=1)
        async with session_factory() as session:
            region = await _seed_reference(session, rng, today, counts)
            await session.commit()
        bar.advance(reference)

        async with session_factory() as session:
            # The plans follow the rules table: the order's rows, loaded if they are not yet.
            await SupervisionRuleService(session).load_shipped()
            await session.commit()
            rules = await SupervisionRuleService(session).table()
        generator = _PatientGenerator(rng, region, today, now, rules)
        task = bar.add_task("Patients, cases, visits", total=patients)
        for chunk_start in range(0, patients, PATIENTS_PER_TRANSACTION):
            size = min(PATIENTS_PER_TRANSACTION, patients - chunk_start)
            plans = [generator.patient() for _ in range(size)]
            async with session_factory() as session:
                await _insert_patients(session, plans, counts)
                await session.commit()
            bar.advance(task, size)
    return {table: counts[table] for table in TABLES}
