"""Jiangsu's administrative divisions (GB/T 2260) for the synthetic province.

Cities are weighted roughly by their share of the province's registered enterprises (苏州 and 南京
largest). Enterprises are registered in *current* county-level divisions; resident ID numbers also
carry divisions abolished since (白下区 320103, 下关区 320107, 崇安区 320202 …), because a number
keeps the address code of the place where it was first issued.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class City:
    code: str
    name: str  # without 市
    short: str  # one-character abbreviation used in document numbers (宁, 锡 …)
    weight: float
    districts: tuple[tuple[str, str], ...]  # current county-level divisions: (code, name)
    abolished: tuple[tuple[str, str, int], ...]  # (code, name, last year in use)


CITIES: tuple[City, ...] = (
    City("320100", "南京", "宁", 16.0, (
        ("320102", "玄武区"), ("320104", "秦淮区"), ("320105", "建邺区"), ("320106", "鼓楼区"),
        ("320111", "浦口区"), ("320113", "栖霞区"), ("320114", "雨花台区"), ("320115", "江宁区"),
        ("320116", "六合区"), ("320117", "溧水区"), ("320118", "高淳区")),
        (("320103", "白下区", 2013), ("320107", "下关区", 2013), ("320124", "溧水县", 2013),
         ("320125", "高淳县", 2013))),
    City("320200", "无锡", "锡", 9.5, (
        ("320205", "锡山区"), ("320206", "惠山区"), ("320211", "滨湖区"), ("320213", "梁溪区"),
        ("320214", "新吴区"), ("320281", "江阴市"), ("320282", "宜兴市")),
        (("320202", "崇安区", 2015), ("320203", "南长区", 2015), ("320204", "北塘区", 2015))),
    City("320300", "徐州", "徐", 6.5, (
        ("320302", "鼓楼区"), ("320303", "云龙区"), ("320305", "贾汪区"), ("320311", "泉山区"),
        ("320312", "铜山区"), ("320321", "丰县"), ("320322", "沛县"), ("320324", "睢宁县"),
        ("320381", "新沂市"), ("320382", "邳州市")),
        (("320304", "九里区", 2010), ("320323", "铜山县", 2010))),
    City("320400", "常州", "常", 7.0, (
        ("320402", "天宁区"), ("320404", "钟楼区"), ("320411", "新北区"), ("320412", "武进区"),
        ("320413", "金坛区"), ("320481", "溧阳市")),
        (("320405", "戚墅堰区", 2015), ("320482", "金坛市", 2015))),
    City("320500", "苏州", "苏", 22.0, (
        ("320505", "虎丘区"), ("320506", "吴中区"), ("320507", "相城区"), ("320508", "姑苏区"),
        ("320509", "吴江区"), ("320581", "常熟市"), ("320582", "张家港市"), ("320583", "昆山市"),
        ("320585", "太仓市")),
        (("320502", "沧浪区", 2012), ("320503", "平江区", 2012), ("320504", "金阊区", 2012),
         ("320584", "吴江市", 2012))),
    City("320600", "南通", "通", 7.5, (
        ("320612", "通州区"), ("320613", "崇川区"), ("320614", "海门区"), ("320623", "如东县"),
        ("320681", "启东市"), ("320682", "如皋市"), ("320685", "海安市")),
        (("320602", "崇川区", 2020), ("320611", "港闸区", 2020), ("320684", "海门市", 2020),
         ("320621", "海安县", 2018))),
    City("320700", "连云港", "连", 3.3, (
        ("320703", "连云区"), ("320706", "海州区"), ("320707", "赣榆区"), ("320722", "东海县"),
        ("320723", "灌云县"), ("320724", "灌南县")),
        (("320705", "新浦区", 2014), ("320721", "赣榆县", 2014))),
    City("320800", "淮安", "淮", 3.8, (
        ("320803", "淮安区"), ("320804", "淮阴区"), ("320812", "清江浦区"), ("320813", "洪泽区"),
        ("320826", "涟水县"), ("320830", "盱眙县"), ("320831", "金湖县")),
        (("320802", "清河区", 2016), ("320811", "清浦区", 2016), ("320829", "洪泽县", 2016))),
    City("320900", "盐城", "盐", 5.0, (
        ("320902", "亭湖区"), ("320903", "盐都区"), ("320904", "大丰区"), ("320921", "响水县"),
        ("320922", "滨海县"), ("320923", "阜宁县"), ("320924", "射阳县"), ("320925", "建湖县"),
        ("320981", "东台市")),
        (("320982", "大丰市", 2015),)),
    City("321000", "扬州", "扬", 4.4, (
        ("321002", "广陵区"), ("321003", "邗江区"), ("321012", "江都区"), ("321023", "宝应县"),
        ("321081", "仪征市"), ("321084", "高邮市")),
        (("321011", "维扬区", 2011), ("321088", "江都市", 2011))),
    City("321100", "镇江", "镇", 3.4, (
        ("321102", "京口区"), ("321111", "润州区"), ("321112", "丹徒区"), ("321181", "丹阳市"),
        ("321182", "扬中市"), ("321183", "句容市")), ()),
    City("321200", "泰州", "泰", 4.3, (
        ("321202", "海陵区"), ("321203", "高港区"), ("321204", "姜堰区"), ("321281", "兴化市"),
        ("321282", "靖江市"), ("321283", "泰兴市")),
        (("321284", "姜堰市", 2012),)),
    City("321300", "宿迁", "宿", 3.9, (
        ("321302", "宿城区"), ("321311", "宿豫区"), ("321322", "沭阳县"), ("321323", "泗阳县"),
        ("321324", "泗洪县")), ()),
)

# Birthplaces outside Jiangsu for legal representatives who moved in (address code, place).
OTHER_PROVINCE_AREAS: tuple[tuple[str, str], ...] = (
    ("340104", "合肥市蜀山区"), ("341221", "临泉县"), ("341322", "萧县"), ("340881", "桐城市"),
    ("370102", "济南市历下区"), ("371302", "临沂市兰山区"), ("330106", "杭州市西湖区"),
    ("330282", "慈溪市"), ("410102", "郑州市中原区"), ("411523", "新县"), ("310104", "上海市徐汇区"),
    ("362502", "抚州市临川区"), ("420106", "武汉市武昌区"), ("510107", "成都市武侯区"),
)

ROAD_NAMES: tuple[str, ...] = (
    "中山", "解放", "人民", "建设", "长江", "黄河", "太湖", "新华", "和平", "友谊", "环城", "振兴", "金桥",
    "科技", "创业", "工业", "兴业", "开发", "东方", "滨江", "湖滨", "运河", "南湖", "北京", "上海", "青年",
)


def city_of(code: str) -> City:
    for city in CITIES:
        if city.code[:4] == code[:4]:
            return city
    raise KeyError(code)


class DistrictTable:
    """Flat arrays of the current districts, for vectorised sampling."""

    def __init__(self) -> None:
        codes, names, city_idx, weights = [], [], [], []
        for i, city in enumerate(CITIES):
            # The urban districts of a city get more firms than its counties.
            raw = np.array([2.0 if name.endswith("区") else 1.0 for _, name in city.districts])
            raw = raw / raw.sum() * city.weight
            for (code, name), w in zip(city.districts, raw, strict=True):
                codes.append(code)
                names.append(name)
                city_idx.append(i)
                weights.append(w)
        self.codes = np.array(codes)
        self.names = np.array(names)
        self.city_idx = np.array(city_idx)
        self.code_int = self.codes.astype(np.int64)
        w = np.array(weights)
        self.weights = w / w.sum()
        self.city_names = np.array([c.name + "市" for c in CITIES])
        self.city_codes = np.array([c.code for c in CITIES])
        self.city_short = np.array([c.short for c in CITIES])

    def full_names(self) -> np.ndarray:
        """The name agencies use: ``南京市玄武区``, but ``江阴市`` and ``沛县`` (county level)."""
        urban = np.char.endswith(self.names, "区")
        return np.where(urban, np.char.add(self.city_names[self.city_idx], self.names), self.names)


DISTRICTS = DistrictTable()


def birthplace_codes(rng: np.random.Generator, city_idx: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Resident-ID address codes (int) for people whose enterprise is in ``city_idx``.

    60 % were born in the enterprise's city, 22 % elsewhere in Jiangsu, 18 % in another province.
    Within a city, divisions abolished later than the birth year are possible (and likely for old
    urban districts), so genuine-looking old codes appear.
    """
    n = len(city_idx)
    where = rng.random(n)
    home = np.where(where < 0.60, city_idx, rng.integers(0, len(CITIES), n))
    out = np.empty(n, dtype=np.int64)
    pick = rng.random(n)
    for i, city in enumerate(CITIES):
        mask = home == i
        if not mask.any():
            continue
        current = np.array([int(c) for c, _ in city.districts])
        old = np.array([int(c) for c, _, _ in city.abolished] or [0])
        last = np.array([y for _, _, y in city.abolished] or [0])
        k = int(mask.sum())
        choice = current[rng.integers(0, len(current), k)]
        if city.abolished:
            j = rng.integers(0, len(old), k)
            # Born before the division was abolished: 45 % chance the ID carries the old code.
            use_old = (birth_year[mask] <= last[j]) & (pick[mask] < 0.45)
            choice = np.where(use_old, old[j], choice)
        out[mask] = choice
    outside = where >= 0.82
    others = np.array([int(c) for c, _ in OTHER_PROVINCE_AREAS])
    out[outside] = others[rng.integers(0, len(others), int(outside.sum()))]
    return out
