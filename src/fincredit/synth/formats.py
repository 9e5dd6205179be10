"""How each provider delivers each category: format, encoding, header spelling, date style.

Decided per category code, deterministically, to cover what providers really send: the tax
bureau's GBK CSV exports (with CRLF line ends and the annex's full-width ``（元）`` headers),
Excel exports saved as UTF-8 CSV with a BOM, spreadsheets (XLSX) for small lists, and JSON
Lines from the courts and the power company's interfaces. GBK is used for the tax bureau's and
some departments' files but not for the biggest monthly files: Python's GBK codec manages only
some 40 MB/s here, which would dominate a province-scale run. XLSX is used only while the province
is small (``XLSX_MAX_ENTERPRISES``): openpyxl writes only a few thousand rows a second, so big provinces
get the same data as BOM-prefixed CSV instead. Unknown (new) categories get UTF-8 CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

XLSX_MAX_ENTERPRISES = 50_000

DATE_FORMATS = {"iso": "%Y-%m-%d", "slash": "%Y/%-m/%-d", "cn": "%Y年%-m月%-d日"}


@dataclass(frozen=True, slots=True)
class FileSpec:
    format: str  # csv | xlsx | jsonl
    encoding: str | None = "utf-8"  # gbk | utf-8 | utf-8-sig (BOM); None for xlsx
    header_style: str = "catalog"  # catalog | fullwidth (（元） instead of (元))
    date_style: str = "iso"  # iso | slash (2024/3/5) | cn (2024年3月5日); CSV only
    line_terminator: str = "\n"

    @property
    def extension(self) -> str:
        return self.format

    def header(self, name: str) -> str:
        if self.header_style == "fullwidth":
            return name.replace("(", "（").replace(")", "）")
        return name


GBK = FileSpec("csv", "gbk", line_terminator="\r\n")
GBK_WIDE = FileSpec("csv", "gbk", header_style="fullwidth", line_terminator="\r\n")
GBK_SLASH = FileSpec("csv", "gbk", date_style="slash", line_terminator="\r\n")
UTF8 = FileSpec("csv", "utf-8")
UTF8_SLASH = FileSpec("csv", "utf-8", date_style="slash")
BOM_SLASH = FileSpec("csv", "utf-8-sig", date_style="slash", line_terminator="\r\n")
UTF8_CN = FileSpec("csv", "utf-8", date_style="cn")
BOM = FileSpec("csv", "utf-8-sig", line_terminator="\r\n")
BOM_WIDE = FileSpec("csv", "utf-8-sig", header_style="fullwidth", line_terminator="\r\n")
XLSX = FileSpec("xlsx", None)
XLSX_WIDE = FileSpec("xlsx", None, header_style="fullwidth")
JSONL = FileSpec("jsonl", "utf-8")

PLAN: dict[str, FileSpec] = {
    "base": UTF8,
    "1": GBK_WIDE, "2": GBK_WIDE, "3": GBK, "4": GBK, "11": GBK,  # 省税务局
    "5": XLSX, "6": XLSX,  # 省市场监管局 notices
    "7": JSONL, "8": JSONL, "9": JSONL,  # 省法院
    "10": BOM_SLASH, "12": BOM,  # 省人社厅
    "13": BOM_WIDE,  # 住房公积金
    "14": BOM, "15": JSONL,  # 省电力公司
    "16": XLSX, "17": XLSX, "18": XLSX, "19": XLSX, "20": XLSX, "21": XLSX, "22": UTF8,
    "23": GBK_SLASH, "24": UTF8, "25": UTF8_CN, "26": XLSX,
    "27": BOM, "28": BOM, "29": GBK, "30": GBK,  # 不动产登记
    "31": UTF8_SLASH, "32": BOM, "33": XLSX_WIDE, "34": XLSX, "35": XLSX_WIDE,
    "36": JSONL, "37": JSONL,  # 信用中国（江苏）名单
}


def file_spec(code: str, enterprises: int) -> FileSpec:
    spec = PLAN.get(code, UTF8)
    if spec.format == "xlsx" and enterprises > XLSX_MAX_ENTERPRISES:
        return FileSpec("csv", "utf-8-sig", header_style=spec.header_style, line_terminator="\r\n")
    return spec


def file_name(code: str, provider: str, spec: FileSpec) -> str:
    stem = "base" if code == "base" else code.zfill(2)
    return f"{stem}-{provider}.{spec.extension}"
