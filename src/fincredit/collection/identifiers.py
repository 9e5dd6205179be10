"""Identifiers and codes in collected records: USCC, resident ID, certificate types and numbers,
phone numbers, administrative division codes, industry codes.

Pure Python; the checks follow the contract of ``values.py`` (clean value, ``MISSING`` for a
blank, or ``FieldError(code, reason)``).

USCC (统一社会信用代码, GB 32100-2015): 18 characters — registration authority (``1``–``9``, ``A``,
``N``, ``Y``), entity type (a digit), 6-digit region code, 9-character organization code, check
digit over the 31-character alphabet (no I, O, Z, S, V). Spaces and hyphens are removed and letters
upper-cased. stdnum's ``cn.uscc`` insists on 8 leading digits and would refuse the codes of
agricultural collectives (``N…``) and military units (``A…``); we accept them and compute the
same check digit (the tests cross-check with stdnum).

Resident ID (居民身份证号码, GB 11643-1999): 6-digit address code, birth date ``YYYYMMDD``,
3-digit sequence, ISO 7064 MOD 11-2 check digit (``X`` for 10, lower-case ``x`` accepted); the
old 15-digit form (address, ``YYMMDD`` in the 1900s, sequence) is accepted and kept as 15 digits
(``ResidentId.legacy_15``; ``resident_id_to_18`` upgrades it). The address code is the county of
household registration *when the number was issued*: counties abolished since (南京白下区
320103, 下关区 320107, …) remain valid forever, so only the province part is checked, against
``RESIDENT_ID_PROVINCES``. We deliberately do not use ``stdnum.cn.ric.validate``: it looks the
address code up in a county table with validity years and refuses numbers whose county code is
not listed for the birth year — with python-stdnum 2.2 it refuses a 1965 birth in 320102
(玄武区, still existing), 320103 (白下区) or 321023 (宝应县), and raises ``KeyError`` for codes
missing from its table. Only its checksum idea (``int(…, 13)``) is reused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from fincredit.collection.temporal import CHINA_TZ
from fincredit.collection.values import MISSING, Check, FieldError, as_text, make_text, nfkc

# -- USCC ---------------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_HEADS = frozenset("123456789ANY")
_EXCEL_NUMBER_HINT = "（该值被存成了数字，精度已丢失，请把该列设为文本）"

# The weights of GB 32100 are 3**i mod 31 and 34 ≡ 3 (mod 31), so the weighted sum of the first 17
# characters is, mod 31, their values read right-to-left as a base-34 number: one bytes.translate
# (alphabet → base-34 digits, anything else → "!", which int() refuses) and one int() in C.
def _base34_table() -> bytes:
    table = bytearray(b"!" * 256)
    for value, char in enumerate(USCC_ALPHABET):
        table[ord(char)] = ord("0123456789ABCDEFGHIJKLMNOPQRSTU"[value])
    return bytes(table)


_USCC_TO_BASE34 = _base34_table()


def uscc_check_digit(code: str) -> str:
    """The GB 32100 check digit of the first 17 characters of ``code`` (ValueError if invalid)."""
    return USCC_ALPHABET[-int(code.encode()[16::-1].translate(_USCC_TO_BASE34), 34) % 31]


def _uscc_problem(code: str) -> FieldError | None:
    if len(code) != 18:
        return FieldError("bad_uscc_format", f"统一社会信用代码应为 18 位，实为 {len(code)} 位")
    if code[0] not in _USCC_HEADS or not "1" <= code[1] <= "9" or not code[2:8].isdigit():
        return FieldError("bad_uscc_format", "统一社会信用代码结构不正确（前两位为登记管理部门和机构类别，3—8 位为行政区划）")
    try:
        check = uscc_check_digit(code)
    except ValueError:
        return FieldError("bad_uscc_format", "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）")
    if code[17] != check:
        if code[17] not in USCC_ALPHABET:
            return FieldError("bad_uscc_format", "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）")
        return FieldError("bad_uscc_check_digit", "统一社会信用代码校验位错误")
    return None


def _identifier_text(value: object, label: str, code: str) -> str:
    if isinstance(value, float):
        raise FieldError(code, f"{label}格式不正确{_EXCEL_NUMBER_HINT}")
    text = as_text(value)
    if not text.isascii():
        text = nfkc(text)
    return "".join(text.split()).replace("-", "").upper()


def parse_uscc(value: object) -> object:
    """``uscc`` check: the normalised 18-character code or ``MISSING``."""
    problem = None
    if type(value) is str:
        problem = _uscc_problem(value)
        if problem is None:
            return value
    code = _identifier_text(value, "统一社会信用代码", "bad_uscc_format")
    if not code:
        return MISSING
    if code != value:
        problem = _uscc_problem(code)
    if problem is not None:
        raise problem
    return code


# -- resident ID --------------------------------------------------------------------------------

# First-level codes of GB/T 2260. None has been withdrawn since resident IDs were introduced
# (1984); 46 (Hainan, 1988) and 50 (Chongqing, 1997) were added. 71 is Taiwan in GB/T 2260;
# 81/82/83 are used by the residence permits of Hong Kong, Macao and Taiwan residents (2018),
# whose numbers follow GB 11643.
RESIDENT_ID_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66),
     71, 81, 82, 83]
)
_RID_CHECK = "10X98765432"
_RID18_RE = re.compile(r"[0-9]{17}[0-9X]")
_RID15_RE = re.compile(r"[0-9]{15}")


def resident_id_check_digit(number: str) -> str:
    """The ISO 7064 MOD 11-2 check digit of the first 17 digits of ``number``.

    The weights are 2**k mod 11 counted from the right and 13 ≡ 2 (mod 11), hence ``int(…, 13)``.
    """
    return _RID_CHECK[2 * int(number[:17], 13) % 11]


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str  # as delivered, normalised (upper-case X); 15 digits stay 15
    birth_date: date
    male: bool
    legacy_15: bool


def resident_id_to_18(number: str) -> str:
    """Upgrade a valid 15-digit number to 18 digits (century 19, computed check digit)."""
    if len(number) == 18:
        return number
    body = number[:6] + "19" + number[6:]
    return body + resident_id_check_digit(body)


def parse_resident_id(value: object) -> ResidentId:
    """Validate a resident ID number per GB 11643 (see the module docstring)."""
    number = _identifier_text(value, "居民身份证号码", "bad_resident_id_format")
    if not number:
        raise FieldError("bad_resident_id_format", "居民身份证号码为空")
    if _RID18_RE.fullmatch(number):
        birth = number[6:14]
        legacy = False
    elif _RID15_RE.fullmatch(number):
        birth = "19" + number[6:12]
        legacy = True
    else:
        raise FieldError("bad_resident_id_format", "居民身份证号码应为 18 位（末位可为 X）或 15 位数字")
    if int(number[:2]) not in RESIDENT_ID_PROVINCES:
        raise FieldError("bad_resident_id_area_code", "居民身份证号码的省级地址码不存在")
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise FieldError("bad_resident_id_birth_date", "居民身份证号码中的出生日期不存在") from None
    if born.year < 1900 or born > datetime.now(CHINA_TZ).date():
        raise FieldError("bad_resident_id_birth_date", "居民身份证号码中的出生日期不合理（早于 1900 年或晚于今天）")
    if not legacy and number[17] != resident_id_check_digit(number):
        raise FieldError("bad_resident_id_check_digit", "居民身份证号码校验位错误")
    return ResidentId(number=number, birth_date=born, male=int(number[16 if not legacy else 14]) % 2 == 1,
                      legacy_15=legacy)


def check_resident_id(value: object) -> object:
    """``resident_id`` check: the normalised number or ``MISSING``."""
    if type(value) is str and not value.strip():
        return MISSING
    return parse_resident_id(value).number


# -- organization code (组织机构代码, GB 11714), kept for records predating the USCC -------------

_ORG_RE = re.compile(r"[0-9A-Z]{8}[0-9X]")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def parse_org_code(value: object) -> object:
    code = _identifier_text(value, "组织机构代码", "bad_org_code")
    if not code:
        return MISSING
    if not _ORG_RE.fullmatch(code):
        raise FieldError("bad_org_code", "组织机构代码应为 8 位数字或大写字母加 1 位校验码")
    total = sum(w * (int(c) if c.isdigit() else ord(c) - 55) for c, w in zip(code, _ORG_WEIGHTS, strict=False))
    check = 11 - total % 11
    if code[8] != {10: "X", 11: "0"}.get(check, str(check)):
        raise FieldError("bad_org_code", "组织机构代码校验位错误")
    return code


# -- certificate types and numbers ---------------------------------------------------------------

RESIDENT_ID_CARD = "居民身份证"
USCC_TYPE = "统一社会信用代码"
ORG_CODE_TYPE = "组织机构代码"
PASSPORT = "护照"
HK_MACAO_PERMIT = "港澳居民来往内地通行证"
TAIWAN_PERMIT = "台湾居民来往大陆通行证"
PERMANENT_RESIDENCE_ID = "外国人永久居留身份证"
RESIDENCE_PERMIT = "港澳台居民居住证"
OTHER_ID_TYPE = "其他"

# Spellings and codes → canonical label. Numeric codes are those of GA/T 517 (常用证件代码:
# 111/112 居民身份证/临时居民身份证, 411–414 护照, 511/512 台湾居民来往大陆通行证, 516 港澳居民来往内地
# 通行证, 553 外国人永久居留证, 990 其他) plus ``10`` (居民身份证 in the PBOC credit-reporting code
# list). Single-digit codes are left out on purpose: the code lists in use disagree about them.
ID_TYPE_ALIASES: dict[str, str] = {
    **dict.fromkeys(["居民身份证", "身份证", "中华人民共和国居民身份证", "二代身份证", "第二代居民身份证",
                     "身份证号", "身份证号码", "居民身份证号码", "临时居民身份证", "临时身份证", "10", "111",
                     "112"], RESIDENT_ID_CARD),
    **dict.fromkeys(["统一社会信用代码", "社会信用代码", "统一代码", "信用代码", "统一社会信用代码证",
                     "营业执照", "营业执照号", "营业执照号码", "uscc"], USCC_TYPE),
    **dict.fromkeys(["组织机构代码", "组织机构代码证"], ORG_CODE_TYPE),
    **dict.fromkeys(["护照", "中国护照", "外国护照", "普通护照", "因公护照", "公务护照", "外交护照",
                     "passport", "411", "412", "413", "414"], PASSPORT),
    **dict.fromkeys(["港澳居民来往内地通行证", "港澳居民往来内地通行证", "回乡证", "港澳同胞回乡证",
                     "516"], HK_MACAO_PERMIT),
    **dict.fromkeys(["台湾居民来往大陆通行证", "台湾居民往来大陆通行证", "台胞证", "台湾同胞来往内地通行证",
                     "511", "512"], TAIWAN_PERMIT),
    **dict.fromkeys(["外国人永久居留身份证", "外国人永久居留证", "永久居留证", "永久居留身份证", "553"],
                    PERMANENT_RESIDENCE_ID),
    **dict.fromkeys(["港澳台居民居住证", "港澳居民居住证", "台湾居民居住证"], RESIDENCE_PERMIT),
    **dict.fromkeys(["其他", "其它", "其他证件", "其他有效证件", "990"], OTHER_ID_TYPE),
}


def parse_id_type(value: object) -> object:
    """``id_type`` check: the canonical label (``ID_TYPE_ALIASES``) or ``MISSING``."""
    if type(value) is str:
        hit = ID_TYPE_ALIASES.get(value)
        if hit is not None:
            return hit
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = as_text(value).strip()
    if not text:
        return MISSING
    hit = ID_TYPE_ALIASES.get("".join(nfkc(text).split()).casefold())
    if hit is None:
        raise FieldError("bad_id_type", "不是可识别的证件类型（如 居民身份证、统一社会信用代码、护照）")
    return hit


_other_id_number = make_text(64)


def parse_id_number(value: object, id_type: object, *, prefer_person: bool = False) -> tuple[object, str]:
    """Check a certificate number against its canonical ``id_type``; returns (number, type).

    With no type, an 18-character number valid as a USCC or as a resident ID (or a valid 15-digit
    resident ID) takes that type; if both fit, ``prefer_person`` decides. Anything else is refused.
    """
    if id_type == RESIDENT_ID_CARD:
        return check_resident_id(value), RESIDENT_ID_CARD
    if id_type == USCC_TYPE:
        return parse_uscc(value), USCC_TYPE
    if id_type == ORG_CODE_TYPE:
        return parse_org_code(value), ORG_CODE_TYPE
    if id_type == RESIDENCE_PERMIT:
        number = check_resident_id(value)
        if number is not MISSING and str(number)[:2] not in ("81", "82", "83"):
            raise FieldError("bad_id_number", "港澳台居民居住证号码应以 81、82 或 83 开头")
        return number, RESIDENCE_PERMIT
    if id_type:
        return _other_id_number(value), str(id_type)
    return _infer_id_number(value, prefer_person)


def _infer_id_number(value: object, prefer_person: bool) -> tuple[object, str]:
    text = _identifier_text(value, "证件号码", "bad_id_number")
    if not text:
        return MISSING, ""
    candidates: list[tuple[str, str]] = []
    for kind, check in ((USCC_TYPE, parse_uscc), (RESIDENT_ID_CARD, check_resident_id)):
        try:
            candidates.append((str(check(text)), kind))
        except FieldError:
            continue
    if not candidates:
        raise FieldError("bad_id_number", "证件号码既不是有效的统一社会信用代码，也不是有效的居民身份证号码（未给出证件类型）")
    if len(candidates) == 2 and prefer_person:
        return candidates[1]
    return candidates[0]


# -- phone, region, industry ---------------------------------------------------------------------

_MOBILE_RE = re.compile(r"(?:86)?(1[3-9][0-9]{9})")
_LANDLINE_RE = re.compile(r"(010|02[0-9]|0[3-9][0-9]{2})([2-9][0-9]{6,7})")  # 010, 02x: 3 digits
_SERVICE_RE = re.compile(r"([48]00)([0-9]{3})([0-9]{4})")
_EXTENSION_RE = re.compile(r"(?:转|分机|ext\.?|x|#)([0-9]{1,6})$", re.IGNORECASE)
_PHONE_SPLIT_RE = re.compile(r"[-()]+")


def parse_phone(value: object) -> object:
    """``phone`` check: mobile ``13812345678``, landline ``025-83334444`` (``-123`` extension),
    or a 400/800 service number ``400-810-8888``; ``+86``/``0086`` prefixes are dropped."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = as_text(value).strip()
    if not text:
        return MISSING
    compact = "".join(nfkc(text).split())
    international = compact.startswith(("+86", "0086"))
    if international:
        compact = compact[3 if compact[0] == "+" else 4:]
    extension = None
    if match := _EXTENSION_RE.search(compact):
        extension, compact = match[1], compact[: match.start()]
    parts = [part for part in _PHONE_SPLIT_RE.split(compact) if part]
    if not parts or not all(part.isascii() and part.isdigit() for part in parts):
        raise FieldError("bad_phone", "不是有效的电话号码（手机 11 位，座机需带区号）")
    digits = "".join(parts)
    if extension is None and (match := _MOBILE_RE.fullmatch(digits)):
        return match[1]
    if extension is None and (match := _SERVICE_RE.fullmatch(digits)):
        return f"{match[1]}-{match[2]}-{match[3]}"
    match = _landline(digits, international)
    if match is None and extension is None and len(parts) >= 3 and len(parts[-1]) <= 6:
        extension = parts[-1]
        match = _landline("".join(parts[:-1]), international)
    if match is None:
        raise FieldError("bad_phone", "不是有效的电话号码（手机 11 位，座机需带区号）")
    return f"{match[1]}-{match[2]}" + (f"-{extension}" if extension else "")


def _landline(digits: str, international: bool) -> re.Match[str] | None:
    if international and not digits.startswith("0"):
        digits = "0" + digits
    return _LANDLINE_RE.fullmatch(digits)


_REGION_RE = re.compile(r"[1-8][0-9]{5}")
REGION_PROVINCES = RESIDENT_ID_PROVINCES - {83}


def parse_region_code(value: object) -> object:
    """``region_code`` check (GB/T 2260): 6 digits whose first two are a province code in
    ``REGION_PROVINCES``. Lower levels are not looked up: the division list changes every year
    and old records carry old codes; Jiangsu's cities are 320100..321300."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = as_text(value).strip()
    if not text:
        return MISSING
    if not text.isascii():
        text = nfkc(text).strip()
    if not _REGION_RE.fullmatch(text) or int(text[:2]) not in REGION_PROVINCES:
        raise FieldError("bad_region_code", "不是有效的行政区划代码（6 位数字，前两位为省级代码）")
    return text


# GB/T 4754-2017 sections and their division (2-digit) ranges.
INDUSTRY_SECTIONS = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72),
    "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90),
    "S": (91, 96), "T": (97, 97),
}
_INDUSTRY_RE = re.compile(r"([A-T])?([0-9]{2,4})?")


def industry_section(division: int) -> str | None:
    for letter, (low, high) in INDUSTRY_SECTIONS.items():
        if low <= division <= high:
            return letter
    return None


def parse_industry_code(value: object) -> object:
    """``industry_code`` check: a section letter, optionally with 2–4 digits (``C3911``), or the
    digits alone (``3911`` → ``C3911``). Letter and division must agree. Numeric cells lose
    leading zeros (``0111`` → 111): providers should send this column as text."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = as_text(value).strip()
    if not text:
        return MISSING
    code = "".join(nfkc(text).split()).upper()
    match = _INDUSTRY_RE.fullmatch(code)
    if not match or not code:
        raise FieldError("bad_industry_code", "不是有效的国民经济行业代码（如 C3911）")
    letter, digits = match[1], match[2]
    if digits:
        section = industry_section(int(digits[:2]))
        if section is None or (letter and letter != section):
            raise FieldError("bad_industry_code", "行业门类与大类代码不一致或大类不存在")
        return section + digits
    return letter


CHECKS: dict[str, Check] = {
    "uscc": parse_uscc,
    "resident_id": check_resident_id,
    "id_type": parse_id_type,
    "phone": parse_phone,
    "region_code": parse_region_code,
    "industry_code": parse_industry_code,
}
