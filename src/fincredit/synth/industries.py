"""Industries (GB/T 4754-2017) and enterprise size classes (工信部联企业〔2011〕300号).

The mix is dominated by wholesale and retail (F), manufacturing (C) and business services, as in
the registration statistics of Jiangsu. ``revenue_per_head`` (万元 per employee, median) drives
the synthetic revenue; ``words`` are the trade words used in enterprise names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Industry:
    code: str  # section letter + 4-digit class
    name: str
    weight: float
    revenue_per_head: float
    words: tuple[str, ...]


def _i(code: str, name: str, weight: float, rph: float, *words: str) -> Industry:
    return Industry(code, name, weight, rph, words)


INDUSTRIES: tuple[Industry, ...] = (
    # F wholesale (51) and retail (52)
    _i("F5121", "米、面制品及食用油批发", 1.2, 90, "粮油贸易", "食品"),
    _i("F5127", "酒、饮料及茶叶批发", 1.3, 80, "酒业", "茶业", "商贸"),
    _i("F5132", "服装批发", 1.8, 70, "服饰", "服装贸易"),
    _i("F5137", "家用电器批发", 1.0, 110, "电器", "商贸"),
    _i("F5154", "医疗用品及器材批发", 1.0, 90, "医疗器械", "医药科技"),
    _i("F5165", "建材批发", 2.6, 100, "建材", "建筑材料"),
    _i("F5169", "其他化工产品批发", 1.4, 150, "化工", "化工贸易"),
    _i("F5174", "五金产品批发", 2.2, 80, "五金", "五金机电"),
    _i("F5176", "计算机、软件及辅助设备批发", 1.2, 120, "电子科技", "信息技术"),
    _i("F5179", "其他机械设备及电子产品批发", 2.0, 100, "机电设备", "机械设备"),
    _i("F5181", "贸易代理", 1.2, 60, "国际贸易", "进出口"),
    _i("F5191", "再生物资回收与批发", 0.8, 120, "再生资源", "物资回收"),
    _i("F5193", "互联网批发", 1.0, 90, "电子商务", "网络科技"),
    _i("F5199", "其他未列明批发业", 4.0, 80, "商贸", "贸易", "实业"),
    _i("F5212", "超级市场零售", 1.4, 40, "超市", "商贸"),
    _i("F5223", "果品、蔬菜零售", 0.9, 30, "果蔬", "农产品"),
    _i("F5232", "服装零售", 1.3, 35, "服饰"),
    _i("F5261", "汽车新车零售", 0.7, 300, "汽车销售服务", "汽车贸易"),
    _i("F5265", "机动车燃油零售", 0.4, 250, "石化", "能源"),
    _i("F5274", "通信设备零售", 0.7, 60, "通讯设备", "通信"),
    _i("F5281", "五金零售", 1.0, 40, "五金", "建材"),
    _i("F5292", "互联网零售", 2.0, 70, "电子商务", "网络科技", "电商"),
    _i("F5299", "其他未列明零售业", 2.4, 40, "商贸", "百货"),
    # C manufacturing
    _i("C1713", "棉印染精加工", 0.5, 70, "印染", "纺织"),
    _i("C1819", "其他机织服装制造", 0.9, 40, "服饰", "制衣"),
    _i("C2231", "纸和纸板容器制造", 0.6, 60, "包装", "纸业"),
    _i("C2319", "包装装潢及其他印刷", 0.6, 45, "印务", "包装印刷"),
    _i("C2641", "涂料制造", 0.4, 110, "涂料", "化工"),
    _i("C2929", "塑料零件及其他塑料制品制造", 1.2, 60, "塑业", "塑胶"),
    _i("C3021", "水泥制品制造", 0.4, 80, "建材", "水泥制品"),
    _i("C3311", "金属结构制造", 1.0, 70, "钢结构", "金属结构"),
    _i("C3399", "其他未列明金属制品制造", 1.1, 60, "金属制品", "五金制品"),
    _i("C3484", "机械零部件加工", 1.6, 55, "精密机械", "机械"),
    _i("C3591", "环境保护专用设备制造", 0.5, 80, "环保设备", "环保科技"),
    _i("C3670", "汽车零部件及配件制造", 1.0, 90, "汽车部件", "汽配"),
    _i("C3824", "电力电子元器件制造", 0.6, 80, "电子", "电气"),
    _i("C3831", "电线、电缆制造", 0.5, 150, "电缆", "线缆"),
    _i("C3911", "计算机整机制造", 0.2, 200, "计算机", "电子科技"),
    _i("C3972", "电子电路制造", 0.6, 90, "电子", "电路科技"),
    _i("C3985", "电子专用材料制造", 0.4, 100, "新材料", "电子材料"),
    _i("C4090", "其他仪器仪表制造业", 0.5, 60, "仪器仪表", "仪表"),
    # I information technology
    _i("I6513", "应用软件开发", 2.2, 35, "软件", "信息技术", "网络科技"),
    _i("I6520", "集成电路设计", 0.4, 60, "微电子", "半导体"),
    _i("I6531", "信息系统集成服务", 1.3, 45, "信息系统", "智能科技"),
    _i("I6532", "物联网技术服务", 0.7, 40, "物联网科技", "智能科技"),
    _i("I6560", "信息技术咨询服务", 1.0, 30, "信息咨询", "数字科技"),
    # L leasing and business services
    _i("L7111", "汽车租赁", 0.6, 40, "汽车租赁"),
    _i("L7212", "投资与资产管理", 1.2, 50, "投资管理", "资产管理"),
    _i("L7224", "供应链管理服务", 0.9, 120, "供应链管理"),
    _i("L7243", "社会经济咨询", 2.2, 25, "企业管理咨询", "商务咨询"),
    _i("L7259", "其他广告服务", 1.4, 30, "广告", "文化传媒"),
    _i("L7263", "劳务派遣服务", 0.8, 15, "人力资源", "劳务"),
    _i("L7299", "其他未列明商务服务业", 2.0, 25, "商务服务", "企业服务"),
    # M research and technical services
    _i("M7320", "工程和技术研究和试验发展", 0.8, 30, "科技", "技术研究"),
    _i("M7452", "检测服务", 0.5, 30, "检测技术", "检测"),
    _i("M7484", "工程设计活动", 0.6, 35, "工程设计", "建筑设计"),
    _i("M7514", "节能技术推广服务", 0.6, 40, "节能科技", "环保科技"),
    _i("M7519", "其他技术推广服务", 1.8, 30, "科技", "技术"),
    # E construction
    _i("E4790", "其他房屋建筑业", 1.4, 80, "建设", "建筑工程"),
    _i("E4813", "市政道路工程建筑", 0.8, 90, "市政工程", "路桥"),
    _i("E4910", "电气安装", 0.9, 60, "机电安装", "电气工程"),
    _i("E5011", "公共建筑装饰和装修", 1.3, 50, "装饰工程", "建设"),
    _i("E5012", "住宅装饰和装修", 1.6, 40, "装饰", "装饰设计"),
    # G transport, logistics, post
    _i("G5431", "普通货物道路运输", 1.8, 45, "物流", "运输"),
    _i("G5821", "货物运输代理", 0.8, 70, "国际货运代理", "物流"),
    _i("G5920", "通用仓储", 0.5, 40, "仓储", "物流"),
    _i("G6020", "快递服务", 0.4, 25, "快递", "速递"),
    # H accommodation and catering
    _i("H6121", "一般旅馆", 0.7, 15, "酒店管理", "宾馆"),
    _i("H6210", "正餐服务", 1.6, 12, "餐饮管理", "餐饮"),
    _i("H6220", "快餐服务", 0.8, 12, "餐饮", "食品"),
    # K real estate
    _i("K7010", "房地产开发经营", 0.6, 400, "置业", "房地产开发"),
    _i("K7020", "物业管理", 0.9, 12, "物业管理", "物业服务"),
    _i("K7030", "房地产中介服务", 0.5, 20, "房产经纪", "不动产"),
    # O, R, P, Q, N services
    _i("O8010", "家庭服务", 0.5, 8, "家政服务"),
    _i("O8040", "理发及美容服务", 0.6, 10, "美容美发", "美业"),
    _i("O8111", "汽车修理与维护", 0.8, 20, "汽车服务", "汽修"),
    _i("R8870", "群众文体活动", 0.3, 15, "文化发展", "文体"),
    _i("R8890", "其他文化艺术业", 0.6, 15, "文化传播", "文化艺术"),
    _i("P8391", "职业技能培训", 0.4, 12, "职业培训", "教育科技"),
    _i("P8399", "其他未列明教育", 0.5, 12, "教育咨询", "教育科技"),
    _i("Q8491", "健康体检服务", 0.2, 20, "健康管理", "医疗"),
    _i("N7723", "固体废物治理", 0.3, 50, "环境工程", "环保"),
    _i("N7820", "环境卫生管理", 0.4, 15, "环境服务", "保洁"),
    # A agriculture, D utilities
    _i("A0111", "稻谷种植", 0.6, 20, "农业发展", "生态农业"),
    _i("A0141", "蔬菜种植", 0.6, 20, "农业科技", "蔬菜种植"),
    _i("A0151", "仁果类和核果类水果种植", 0.3, 20, "果业", "生态农业"),
    _i("A0313", "猪的饲养", 0.3, 60, "养殖", "牧业"),
    _i("A0412", "内陆养殖", 0.3, 40, "水产养殖", "渔业"),
    _i("A0512", "农业机械活动", 0.3, 25, "农机服务", "农业服务"),
    _i("D4416", "太阳能发电", 0.4, 200, "新能源", "光伏能源"),
    _i("D4430", "热力生产和供应", 0.1, 150, "热力", "能源"),
)

# 融资担保 companies (the guarantors of category 35) are classed under J 其他未包括金融业.
GUARANTOR_INDUSTRY = _i("J6999", "其他未包括金融业", 0.0, 50, "融资担保")

# Sections whose firms typically operate plants (environmental credit, big power use).
INDUSTRIAL_SECTIONS = frozenset("BCD")
TECH_PREFIXES = ("C3", "C4", "I65", "M73", "M75", "C26")


@dataclass(frozen=True, slots=True)
class SizeRule:
    """Thresholds of 工信部联企业〔2011〕300号 (employees X 人, revenue Y 万元). A class is reached
    when *all* its given thresholds are met; anything below 小型 is 微型."""

    large: tuple[int, float]
    medium: tuple[int, float]
    small: tuple[int, float]


SIZE_RULES: dict[str, SizeRule] = {
    "agriculture": SizeRule((0, 20000), (0, 500), (0, 50)),
    "industry": SizeRule((1000, 40000), (300, 2000), (20, 300)),
    "construction": SizeRule((0, 80000), (0, 6000), (0, 300)),  # assets not modelled
    "wholesale": SizeRule((200, 40000), (20, 5000), (5, 1000)),
    "retail": SizeRule((300, 20000), (50, 500), (10, 100)),
    "transport": SizeRule((1000, 30000), (300, 3000), (20, 200)),
    "warehousing": SizeRule((200, 30000), (100, 1000), (20, 100)),
    "postal": SizeRule((1000, 30000), (300, 2000), (20, 100)),
    "hospitality": SizeRule((300, 10000), (100, 2000), (10, 100)),
    "software": SizeRule((300, 10000), (100, 1000), (10, 50)),
    "real_estate": SizeRule((0, 200000), (0, 1000), (0, 100)),  # assets not modelled
    "property_management": SizeRule((1000, 5000), (300, 1000), (100, 500)),
    "other": SizeRule((300, 0), (100, 0), (10, 0)),
}
SIZE_LABELS = ("大型", "中型", "小型", "微型")


def size_rule_name(code: str) -> str:
    """The 300号 rule that applies to a GB/T 4754 class code (``C3911`` …)."""
    section, division = code[0], code[1:3]
    if section == "A":
        return "agriculture"
    if section in "BCD":
        return "industry"
    if section == "E":
        return "construction"
    if section == "F":
        return "wholesale" if division == "51" else "retail"
    if section == "G":
        return {"59": "warehousing", "60": "postal"}.get(division, "transport")
    if section == "H":
        return "hospitality"
    if section == "I":
        return "software" if division == "65" else "other"
    if section == "K":
        return {"7010": "real_estate", "7020": "property_management"}.get(code[1:], "other")
    return "other"


def size_class(rule_names: np.ndarray, employees: np.ndarray, revenue_wan: np.ndarray) -> np.ndarray:
    """Size class index (0 大型 … 3 微型) per firm; ``rule_names`` from ``size_rule_name``."""
    out = np.full(len(rule_names), 3, dtype=np.int8)
    for name, rule in SIZE_RULES.items():
        mask = rule_names == name
        if not mask.any():
            continue
        emp, rev = employees[mask], revenue_wan[mask]
        level = np.full(int(mask.sum()), 3, dtype=np.int8)
        for idx, (x, y) in ((2, rule.small), (1, rule.medium), (0, rule.large)):
            level = np.where((emp >= x) & (rev >= y), idx, level)
        out[mask] = level
    return out
