"""Chinese personal names and enterprise names, drawn from frequency lists (all GBK-encodable).

Surname weights are rounded shares (per mille) of the most common surnames, nudged toward the
Jiangsu distribution (陈, 王, 张, 朱, 徐, 顾, 沈, 陆, 钱 more frequent than nationally).
"""

from __future__ import annotations

import numpy as np
import polars as pl

SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 70), ("陈", 72), ("张", 60), ("李", 55), ("刘", 40), ("朱", 35), ("徐", 38), ("周", 30),
    ("吴", 32), ("杨", 25), ("孙", 24), ("黄", 18), ("赵", 16), ("胡", 14), ("顾", 16), ("沈", 16),
    ("陆", 15), ("钱", 10), ("马", 12), ("高", 12), ("何", 9), ("郭", 10), ("林", 9), ("丁", 10),
    ("许", 12), ("蒋", 11), ("姚", 9), ("戴", 9), ("曹", 9), ("唐", 9), ("谢", 8), ("冯", 8),
    ("韩", 8), ("宋", 8), ("范", 7), ("严", 6), ("汤", 6), ("葛", 6), ("邵", 6), ("潘", 7),
    ("袁", 7), ("杜", 6), ("夏", 7), ("叶", 6), ("程", 6), ("金", 7), ("秦", 5), ("蔡", 6),
    ("仲", 4), ("缪", 4), ("储", 4), ("卢", 5), ("任", 5), ("魏", 5), ("吕", 5), ("彭", 5),
    ("邹", 5), ("殷", 4), ("尹", 4), ("倪", 5), ("华", 4), ("施", 5), ("花", 3), ("季", 4),
    ("梅", 3), ("孔", 4), ("孟", 4), ("薛", 5), ("卞", 3), ("翟", 3), ("欧阳", 1), ("诸葛", 0.3),
)

MALE_CHARS = tuple(
    "伟强军勇杰涛明斌超刚平辉鹏华飞鑫波宇浩凯健俊峰建国林磊东文亮成龙海志春永荣新兵晨阳"
    "锋彬斌宏德培洪振家庆剑松清良顺泉忠宁翔涛旭晓铭昊睿哲轩"
)
FEMALE_CHARS = tuple(
    "芳娟敏静丽艳娜秀英霞婷玲燕红梅琳雪倩颖慧洁莉萍兰琴云晶莹蓉菊华萱怡佳欣悦璐瑶婕"
)

# Enterprise trade names (字号): combinations of auspicious characters.
TRADE_CHARS = tuple(
    "华瑞恒通鑫源达盛泰宏祥信德嘉和丰诚联创新金银隆兴博远正安海天中科明光力美佳卓汇众"
    "永益昌裕润升辰宇顺捷晟腾耀锦弘亿凯诺启航峰越星科睿铭元坤泽辉华尚禾合宁苏"
)
ORG_FORMS: tuple[tuple[str, float], ...] = (
    ("有限公司", 0.86), ("有限责任公司", 0.07), ("股份有限公司", 0.03), ("实业有限公司", 0.04),
)


def _weights(pairs: tuple[tuple[str, float], ...]) -> tuple[pl.Series, np.ndarray]:
    labels = pl.Series([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs], dtype=float)
    return labels, w / w.sum()


def person_names(rng: np.random.Generator, male: np.ndarray) -> pl.Series:
    """Surname + one or two given-name characters, chosen by sex."""
    n = len(male)
    surnames, sw = _weights(SURNAMES)
    sur = surnames.gather(rng.choice(len(sw), size=n, p=sw))
    males, females = pl.Series(MALE_CHARS), pl.Series(FEMALE_CHARS)
    first_m = males.gather(rng.integers(0, len(MALE_CHARS), n))
    first_f = females.gather(rng.integers(0, len(FEMALE_CHARS), n))
    second_m = males.gather(rng.integers(0, len(MALE_CHARS), n))
    second_f = females.gather(rng.integers(0, len(FEMALE_CHARS), n))
    two = pl.Series(rng.random(n) < 0.72)
    is_male = pl.Series(male)
    frame = pl.DataFrame({"sur": sur, "fm": first_m, "ff": first_f, "sm": second_m, "sf": second_f,
                          "two": two, "male": is_male})
    return frame.select(
        pl.concat_str([
            pl.col("sur"),
            pl.when(pl.col("male")).then(pl.col("fm")).otherwise(pl.col("ff")),
            pl.when(~pl.col("two")).then(pl.lit(""))
            .when(pl.col("male")).then(pl.col("sm")).otherwise(pl.col("sf")),
        ]).alias("name")
    ).to_series()


def trade_names(rng: np.random.Generator, n: int, length: np.ndarray | None = None) -> pl.Series:
    """Two- (or, where ``length`` is 3, three-) character trade names."""
    chars = pl.Series(TRADE_CHARS)
    k = len(TRADE_CHARS)
    a, b, c = (chars.gather(rng.integers(0, k, n)) for _ in range(3))
    three = pl.Series(length == 3 if length is not None else np.zeros(n, dtype=bool))
    return pl.DataFrame({"a": a, "b": b, "c": c, "three": three}).select(
        pl.concat_str([pl.col("a"), pl.col("b"),
                       pl.when(pl.col("three")).then(pl.col("c")).otherwise(pl.lit(""))]).alias("t")
    ).to_series()


def org_forms(rng: np.random.Generator, n: int) -> pl.Series:
    labels, w = _weights(ORG_FORMS)
    return labels.gather(rng.choice(len(w), size=n, p=w))


def mobile_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    prefixes = pl.Series(["138", "139", "137", "135", "136", "150", "151", "152", "158", "159", "182",
                          "187", "188", "133", "153", "180", "189", "130", "131", "132", "155", "156",
                          "185", "186", "177", "199"])
    frame = pl.DataFrame({"p": prefixes.gather(rng.integers(0, len(prefixes), n)),
                          "t": pl.Series(rng.integers(0, 100_000_000, n)).cast(pl.String).str.zfill(8)})
    return frame.select(pl.concat_str(["p", "t"]).alias("phone")).to_series()
