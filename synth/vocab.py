"""Vocabulary for the synthetic data: regions, names, streets, banks, hospitals, diagnoses.

Everything here is static and small; the generator indexes into these tuples with NumPy
arrays and turns indices into strings only when the tables are written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A 6-digit area code with its names (city empty for municipalities)."""

    code: str
    province: str
    city: str
    district: str
    weight: float
    rural: bool = False

    @property
    def prefix(self) -> str:
        """Address prefix: province, city and district (municipalities named once)."""
        if not self.city:
            return self.province + self.district
        return self.province + self.city + self.district

    @property
    def short(self) -> str:
        """Short city name for company and hospital names (``杭州``, ``上海`` …)."""
        name = self.city or self.province
        for suffix in ("壮族自治区", "白族自治州", "自治州", "市", "省"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name


REGIONS: tuple[Region, ...] = (
    Region("110101", "北京市", "", "东城区", 3),
    Region("110105", "北京市", "", "朝阳区", 6),
    Region("110108", "北京市", "", "海淀区", 5),
    Region("120101", "天津市", "", "和平区", 2),
    Region("120104", "天津市", "", "南开区", 3),
    Region("130102", "河北省", "石家庄市", "长安区", 3),
    Region("130602", "河北省", "保定市", "竞秀区", 3),
    Region("130424", "河北省", "邯郸市", "成安县", 2, True),
    Region("140105", "山西省", "太原市", "小店区", 3),
    Region("210102", "辽宁省", "沈阳市", "和平区", 3),
    Region("220102", "吉林省", "长春市", "南关区", 2),
    Region("230102", "黑龙江省", "哈尔滨市", "道里区", 3),
    Region("310101", "上海市", "", "黄浦区", 3),
    Region("310104", "上海市", "", "徐汇区", 4),
    Region("310115", "上海市", "", "浦东新区", 7),
    Region("320102", "江苏省", "南京市", "玄武区", 3),
    Region("320505", "江苏省", "苏州市", "虎丘区", 3),
    Region("330102", "浙江省", "杭州市", "上城区", 4),
    Region("330702", "浙江省", "金华市", "婺城区", 3),
    Region("340102", "安徽省", "合肥市", "瑶海区", 3),
    Region("341225", "安徽省", "阜阳市", "阜南县", 2, True),
    Region("350102", "福建省", "福州市", "鼓楼区", 3),
    Region("360102", "江西省", "南昌市", "东湖区", 2),
    Region("370102", "山东省", "济南市", "历下区", 3),
    Region("370202", "山东省", "青岛市", "市南区", 3),
    Region("410102", "河南省", "郑州市", "中原区", 4),
    Region("411527", "河南省", "信阳市", "淮滨县", 2, True),
    Region("420102", "湖北省", "武汉市", "江岸区", 4),
    Region("430102", "湖南省", "长沙市", "芙蓉区", 3),
    Region("440103", "广东省", "广州市", "荔湾区", 4),
    Region("440304", "广东省", "深圳市", "福田区", 4),
    Region("450103", "广西壮族自治区", "南宁市", "青秀区", 2),
    Region("500103", "重庆市", "", "渝中区", 4),
    Region("510104", "四川省", "成都市", "锦江区", 4),
    Region("511324", "四川省", "南充市", "仪陇县", 2, True),
    Region("530102", "云南省", "昆明市", "五华区", 2),
    Region("532932", "云南省", "大理白族自治州", "鹤庆县", 1, True),
    Region("610102", "陕西省", "西安市", "新城区", 3),
    Region("620102", "甘肃省", "兰州市", "城关区", 2),
)

# -- names ---------------------------------------------------------------------------------
#: common surnames with approximate shares (per cent of the population)
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1), ("李", 7.0), ("张", 6.6), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1), ("黄", 2.2),
    ("赵", 2.0), ("吴", 1.9), ("周", 1.9), ("徐", 1.5), ("孙", 1.4), ("马", 1.3), ("朱", 1.2),
    ("胡", 1.2), ("郭", 1.1), ("何", 1.1), ("高", 1.0), ("林", 1.0), ("罗", 0.9), ("郑", 0.8),
    ("梁", 0.8), ("谢", 0.7), ("宋", 0.6), ("唐", 0.6), ("许", 0.6), ("韩", 0.6), ("冯", 0.6),
    ("邓", 0.6), ("曹", 0.5), ("彭", 0.5), ("曾", 0.5), ("肖", 0.5), ("田", 0.5), ("董", 0.5),
    ("袁", 0.4), ("潘", 0.4), ("于", 0.4), ("蒋", 0.4), ("蔡", 0.4), ("余", 0.4), ("杜", 0.4),
    ("叶", 0.4), ("程", 0.4), ("苏", 0.3), ("魏", 0.3), ("吕", 0.3), ("丁", 0.3), ("任", 0.3),
    ("沈", 0.3), ("姚", 0.3), ("卢", 0.3), ("姜", 0.3), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
    ("陆", 0.3), ("汪", 0.3), ("范", 0.2), ("金", 0.2), ("石", 0.2), ("廖", 0.2), ("贾", 0.2),
    ("夏", 0.2), ("韦", 0.2), ("付", 0.2), ("方", 0.2), ("白", 0.2), ("邹", 0.2), ("孟", 0.2),
    ("熊", 0.2), ("秦", 0.2), ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2),
    ("段", 0.2), ("雷", 0.2), ("侯", 0.2), ("龙", 0.2), ("史", 0.2), ("陶", 0.1), ("黎", 0.1),
    ("贺", 0.1), ("顾", 0.1), ("毛", 0.1), ("郝", 0.1), ("龚", 0.1), ("邵", 0.1), ("万", 0.1),
    ("钱", 0.1), ("严", 0.1), ("覃", 0.1), ("武", 0.1), ("戴", 0.1), ("莫", 0.1), ("孔", 0.1),
    ("向", 0.1), ("汤", 0.1), ("常", 0.09), ("温", 0.09), ("康", 0.09), ("施", 0.08), ("文", 0.08),
    ("牛", 0.08), ("樊", 0.08), ("葛", 0.08), ("邢", 0.08), ("安", 0.07), ("齐", 0.07), ("易", 0.07),
    ("乔", 0.07), ("伍", 0.07), ("庞", 0.07), ("颜", 0.06), ("倪", 0.06), ("庄", 0.06), ("聂", 0.06),
    ("章", 0.06), ("鲁", 0.06), ("岳", 0.06), ("翟", 0.06), ("殷", 0.05), ("詹", 0.05), ("申", 0.05),
    ("欧", 0.05), ("耿", 0.05), ("关", 0.05), ("兰", 0.05), ("焦", 0.05), ("俞", 0.05), ("左", 0.05),
    ("柳", 0.05), ("甘", 0.05), ("祝", 0.05), ("包", 0.05), ("宁", 0.04), ("尚", 0.04), ("符", 0.04),
    ("舒", 0.04), ("阮", 0.04), ("柯", 0.04), ("纪", 0.04), ("梅", 0.04), ("童", 0.04), ("凌", 0.04),
    ("毕", 0.04), ("欧阳", 0.05), ("上官", 0.01), ("司马", 0.01), ("诸葛", 0.01),
)  # fmt: skip

SURNAMES_ONLY: tuple[str, ...] = tuple(s for s, _ in SURNAMES)

#: given names by era and sex, most common first (weights follow a Zipf law)
_GIVEN_POOLS: dict[tuple[str, str], tuple[str, ...]] = {
    ("old", "M"): (
        "建国", "国华", "志明", "德福", "永昌", "春生", "金山", "振华", "建军", "树林", "玉山", "文华",
        "国强", "福生", "宝山", "长林", "德明", "秀山", "广才", "兴旺", "庆祥", "明德", "国栋", "立新",
        "有才", "成", "福", "贵", "忠", "义",
    ),
    ("old", "F"): (
        "秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "玉珍", "淑珍", "秀珍", "桂芳", "春梅", "冬梅",
        "红梅", "玉梅", "素芳", "淑英", "翠花", "金凤", "玉华", "兰英", "凤兰", "秀云", "淑兰", "桂珍",
        "英", "兰", "珍", "芳",
    ),
    ("mid", "M"): (
        "伟", "勇", "军", "强", "磊", "涛", "斌", "超", "明", "刚", "平", "辉", "建华", "建平", "海涛",
        "志强", "永刚", "卫东", "红军", "学军", "文斌", "国庆", "海波", "建新", "晓东", "俊", "峰", "波",
        "华", "东",
    ),
    ("mid", "F"): (
        "丽", "敏", "静", "艳", "娟", "霞", "燕", "芳", "红", "玲", "丹", "萍", "丽华", "晓红", "艳红",
        "丽娟", "海燕", "春燕", "秀梅", "雪梅", "丽萍", "晓燕", "红霞", "玉洁", "慧", "琴", "梅", "莉",
    ),
    ("young", "M"): (
        "浩", "鹏", "杰", "鑫", "宇", "凯", "帅", "旭", "俊杰", "浩然", "子豪", "天宇", "博文", "浩宇",
        "志远", "家豪", "文博", "宇航", "明轩", "晨阳", "一鸣", "泽宇", "嘉豪", "思远", "振宇", "鹏飞",
    ),
    ("young", "F"): (
        "婷", "倩", "颖", "雪", "琳", "洁", "欣", "佳", "婷婷", "雨欣", "欣怡", "佳怡", "思雨", "梦瑶",
        "雅婷", "晓雪", "诗雨", "佳琪", "雨婷", "静怡", "梦琪", "紫涵", "欣然", "可欣", "嘉怡", "晨曦",
    ),
    ("kid", "M"): (
        "子轩", "宇轩", "浩宇", "梓豪", "俊熙", "一诺", "沐宸", "皓轩", "子墨", "梓睿", "奕辰", "宇辰",
        "铭泽", "浩然", "睿", "轩", "诺", "泽",
    ),
    ("kid", "F"): (
        "梓涵", "一诺", "欣怡", "子涵", "思涵", "雨涵", "梓萱", "诗涵", "可馨", "若汐", "语桐", "依诺",
        "欣妍", "沐瑶", "芷若", "安琪", "悦", "萱",
    ),
}  # fmt: skip

ERAS: tuple[str, ...] = ("old", "mid", "young", "kid")
#: first birth year of each era (old before 1960, mid 1960–84, young 1985–2004, kid 2005+)
ERA_STARTS: tuple[int, ...] = (1960, 1985, 2005)
#: share of given names taken whole from the era's pool (else composed from characters)
ERA_WHOLE_SHARE: tuple[float, ...] = (0.7, 0.45, 0.35, 0.35)
#: share of one-character names among composed names, by era
ERA_SINGLE_SHARE: tuple[float, ...] = (0.1, 0.3, 0.15, 0.08)

#: characters that compose given names: (first characters, second characters) by sex
_COMPOSE: dict[str, tuple[str, str]] = {
    "M": (
        "建国志文明永德海春金俊家子宇浩天博嘉振立晓伟鹏佳一思泽宏",
        "华明军强平林东伟刚峰波杰涛斌辉龙超勇磊宇轩豪鑫凯飞阳鹏成新",
    ),
    "F": (
        "秀桂玉淑凤春丽晓海红雪静佳雨欣子梓思诗婉美小慧文",
        "英兰珍芳梅华霞燕娟红丽敏静婷琳颖怡涵萱雯洁倩玲莉",
    ),
}
GIVEN_CHARS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [c for pool in _GIVEN_POOLS.values() for n in pool for c in n]
        + [c for a, b in _COMPOSE.values() for c in a + b]
    )
)
_CHAR_INDEX = {c: i for i, c in enumerate(GIVEN_CHARS)}
#: code of "no second character"
NO_CHAR = 4095


def given_code(name: str) -> int:
    """Integer code of a 1–2 character given name (first * 4096 + second)."""
    if len(name) == 1:
        return _CHAR_INDEX[name] * 4096 + NO_CHAR
    return _CHAR_INDEX[name[0]] * 4096 + _CHAR_INDEX[name[1]]


def given_name(code: int) -> str:
    """The given name of an integer code."""
    a, b = divmod(int(code), 4096)
    return GIVEN_CHARS[a] + ("" if b == NO_CHAR else GIVEN_CHARS[b])


#: (era, sex) -> codes of whole given names, most common first
GIVEN_POOLS: dict[tuple[str, str], tuple[int, ...]] = {
    k: tuple(given_code(n) for n in v) for k, v in _GIVEN_POOLS.items()
}
#: sex -> (codes of first characters, codes of second characters)
COMPOSE_CHARS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    s: (tuple(_CHAR_INDEX[c] for c in a), tuple(_CHAR_INDEX[c] for c in b)) for s, (a, b) in _COMPOSE.items()
}

# -- addresses -----------------------------------------------------------------------------
STREETS: tuple[str, ...] = (
    "人民", "解放", "中山", "建设", "和平", "胜利", "文化", "新华", "光明", "长江", "黄河", "东风",
    "朝阳", "复兴", "团结", "幸福", "青年", "延安", "五一", "八一", "红旗", "工农", "民主", "友谊",
    "花园", "滨江", "湖滨", "学府", "科技", "环城", "府前", "迎宾", "站前", "振兴", "繁荣", "兴业",
    "春风", "桂花", "梧桐", "枫林", "金桥", "银河", "丰收", "育才", "体育", "健康", "公园", "东湖",
    "沿河", "北环",
)  # fmt: skip
STREET_SUFFIXES: tuple[str, ...] = ("路", "街", "大道", "中路", "东路", "西路", "南路", "北路")
COMPOUNDS: tuple[str, ...] = (
    "阳光花园", "金色家园", "锦绣华庭", "翠苑", "世纪新城", "碧水湾", "和谐家园", "幸福里", "香樟园",
    "绿城小区", "紫荆苑", "明珠花园", "东方名苑", "丽景湾", "书香门第", "春晓苑", "怡景园", "华府",
    "新村", "宿舍区", "南苑", "北苑", "嘉园", "雅居", "康城", "桃源居", "万科城", "龙湖小区",
    "铁路新村", "电厂小区",
)  # fmt: skip
TOWNS: tuple[str, ...] = (
    "城关", "新集", "王店", "李集", "张庄", "柳林", "大桥", "石桥", "马头", "双河", "黄岗", "白塔",
    "杨庙", "龙王", "三河", "古城", "高庄", "长乐", "永安", "太平",
)  # fmt: skip
VILLAGES: tuple[str, ...] = (
    "前进", "红星", "东风", "新庄", "王庄", "李庄", "赵楼", "刘湾", "陈岗", "杨树", "柳树", "枣林",
    "桃园", "北岗", "南洼", "西沟", "东岭", "大王", "小李", "孙庄", "周营", "吴店", "郑寨", "冯楼",
    "何湾", "高台", "梁庄", "宋集", "许岗", "韩庄",
)  # fmt: skip
NURSING_HOMES: tuple[str, ...] = (
    "夕阳红养老院", "福寿康养老院", "康乐老年公寓", "颐和养老中心", "松鹤园养老院", "慈恩护养院",
    "惠民老年公寓", "安康养护院",
)  # fmt: skip
WELFARE_INSTITUTIONS: tuple[str, ...] = ("敬老院", "社会福利院", "福利中心", "光荣院", "供养服务中心")
COLLECTIVES: tuple[str, ...] = (
    "人才市场集体户", "第一中学集体户", "华能电厂集体户", "红星机械厂集体户", "纺织厂集体户",
    "职业技术学院集体户", "钢铁公司集体户", "公安局集体户", "建筑公司职工集体户", "大学学生集体户",
)  # fmt: skip

# -- banks, phones ---------------------------------------------------------------------------
BANKS: tuple[tuple[str, str, float], ...] = (
    ("中国工商银行", "622202", 20),
    ("中国建设银行", "621700", 18),
    ("中国农业银行", "622848", 18),
    ("中国银行", "621661", 10),
    ("交通银行", "622262", 6),
    ("中国邮政储蓄银行", "621799", 14),
    ("招商银行", "621483", 5),
    ("农村商业银行", "622319", 9),
)
#: index of the banks an agent (welfare institution) account uses
AGENT_BANKS: tuple[int, ...] = (5, 7)
PHONE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186", "187",
    "188", "189", "191", "198", "199",
)  # fmt: skip

# -- employers ----------------------------------------------------------------------------------
BRANDS: tuple[str, ...] = (
    "华盛", "宏达", "鑫源", "恒通", "金鼎", "瑞丰", "盛世", "天成", "永兴", "德润", "中联", "博远",
    "新锐", "正阳", "东方", "海天", "长城", "联创", "众诚", "嘉禾", "润泽", "信达", "鼎盛", "万通",
    "汇金", "伟业", "兴隆", "安泰", "富源", "荣昌", "远航", "光华", "立信", "昌盛", "明辉", "晨光",
    "顺发", "腾飞", "卓越", "佳和",
)  # fmt: skip
INDUSTRIES: tuple[str, ...] = (
    "机械制造", "建筑工程", "商贸", "物流", "电子科技", "餐饮管理", "物业服务", "纺织", "食品", "化工",
    "信息技术", "医药", "家具", "汽车配件", "装饰工程", "农业开发", "环保科技", "文化传媒", "印刷",
    "建材", "劳务服务", "咨询服务", "人力资源", "企业管理",
)  # fmt: skip
#: industries a shell employer takes its name from (legitimate employers use them too)
SHELL_INDUSTRIES: tuple[int, ...] = tuple(
    INDUSTRIES.index(x) for x in ("劳务服务", "商贸", "咨询服务", "信息技术", "人力资源", "企业管理")
)
COMPANY_FORMS: tuple[str, ...] = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")
#: unified social credit code alphabet (GB 32100-2015: no I, O, S, V, Z)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# -- hospitals, diagnoses --------------------------------------------------------------------
LEVELS: tuple[str, ...] = ("一级", "二级", "三级")
HOSPITAL_BRANDS: tuple[str, ...] = (
    "仁爱",
    "博爱",
    "康复",
    "和平",
    "华康",
    "济民",
    "同济",
    "惠民",
    "安康",
    "百姓",
)


@dataclass(frozen=True)
class Diagnosis:
    """An ICD-10 code with its share by age group (young, middle, old) and cost factor."""

    code: str
    name: str
    young: float
    middle: float
    old: float
    cost: float


DIAGNOSES: tuple[Diagnosis, ...] = (
    Diagnosis("J06.9", "急性上呼吸道感染", 3.0, 2.0, 1.0, 0.3),
    Diagnosis("J18.9", "肺炎", 2.0, 1.0, 2.0, 1.0),
    Diagnosis("I10", "原发性高血压", 0.0, 2.0, 3.0, 0.6),
    Diagnosis("E11.9", "2型糖尿病", 0.0, 2.0, 3.0, 0.7),
    Diagnosis("I25.1", "动脉硬化性心脏病", 0.0, 1.0, 3.0, 1.5),
    Diagnosis("I63.9", "脑梗死", 0.0, 1.0, 3.0, 2.0),
    Diagnosis("K29.7", "胃炎", 1.0, 2.0, 1.0, 0.5),
    Diagnosis("M54.5", "腰痛", 0.5, 2.0, 1.5, 0.5),
    Diagnosis("S72.0", "股骨颈骨折", 0.2, 0.5, 1.5, 3.0),
    Diagnosis("K80.2", "胆囊结石", 0.3, 1.0, 1.0, 2.0),
    Diagnosis("C34.9", "肺恶性肿瘤", 0.0, 0.5, 1.0, 4.0),
    Diagnosis("J44.9", "慢性阻塞性肺病", 0.0, 0.5, 2.0, 1.2),
    Diagnosis("I50.9", "心力衰竭", 0.0, 0.3, 1.5, 1.8),
    Diagnosis("N39.0", "泌尿道感染", 1.0, 1.0, 1.0, 0.4),
    Diagnosis("A09", "胃肠炎", 2.0, 1.0, 0.5, 0.3),
    Diagnosis("H25.9", "老年性白内障", 0.0, 0.5, 2.0, 1.0),
    Diagnosis("K35.8", "急性阑尾炎", 1.5, 0.8, 0.3, 1.5),
    Diagnosis("N18.5", "慢性肾脏病5期", 0.0, 0.1, 0.3, 0.6),
    Diagnosis("M17.9", "膝关节病", 0.0, 0.8, 1.5, 1.2),
    Diagnosis("Z49.1", "体外透析", 0.0, 0.02, 0.05, 0.2),
)
DIAGNOSIS_INDEX: dict[str, int] = {d.code: i for i, d in enumerate(DIAGNOSES)}
#: codes a provider ring bills (ordinary diagnoses that justify a stay)
RING_CODES: tuple[str, ...] = ("I63.9", "M54.5", "I25.1", "J44.9", "M17.9", "E11.9", "K29.7")
#: median claim amount (yuan) by hospital level index
LEVEL_COST: tuple[float, ...] = (1200.0, 3500.0, 9000.0)

# -- life traces -------------------------------------------------------------------------------
ACTIVITY_SOURCES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("medical", 0.30, ("门诊就诊", "药店购药", "健康体检")),
    ("transit", 0.20, ("公交刷卡", "地铁进站", "火车票购票")),
    ("bank", 0.25, ("柜面取款", "ATM取款", "手机银行登录")),
    ("police", 0.05, ("户籍业务办理", "居住证签注", "出入境证件办理")),
    ("court", 0.005, ("诉讼参与",)),
    ("prison", 0.005, ("在押人员信息核对",)),
    ("civil_affairs", 0.05, ("婚姻登记", "低保复核", "高龄津贴认证")),
    ("other", 0.14, ("社保卡刷卡", "人脸识别认证", "水电缴费")),
)
ACTIVITY_KINDS: tuple[str, ...] = tuple(k for _, _, kinds in ACTIVITY_SOURCES for k in kinds)
ACTIVITY_SOURCE_NAMES: tuple[str, ...] = tuple(s for s, _, _ in ACTIVITY_SOURCES)
