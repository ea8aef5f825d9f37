"""A tiny sample store and alert file for trying the dashboard and for its tests.

``python -m ringwatch.dashboard.sample DIR`` writes ``DIR/sample.lbug`` (a LadybugDB store)
and ``DIR/out/alerts.jsonl`` with one hand-made alert per detector, then prints nothing and
exits 0. The data are fictitious: a pension-collector ring sharing one account and phone,
a pension paid after death, a renumbering that moved a birth date, one person drawing two
pensions, a hospital ring, a shell employer, a pensioner without life traces, and a
nursing-home address with 300 residents (a hub node for testing capped expansion).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ringwatch.alerts_io import write_alert_files
from ringwatch.detectors.evidence import lit_list
from ringwatch.graph.base import GraphFrames
from ringwatch.loaders.idnumber import check_char

REF_MONTH = "2026-10"
RUN_DATE = "2026-10-31"
PREVIOUS_RUN_DATE = "2026-09-30"
HUB_RESIDENTS = 300
HUB_ADDRESS = "北京市朝阳区幸福路1号康乐养老院"


def id18(region: str, birth: str, seq: int) -> str:
    """A well-formed 18-digit ID number (correct check digit)."""
    body = f"{region}{birth.replace('-', '')}{seq:03d}"
    return body + check_char(body)


def _months(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return out


def sample_frames(hub_residents: int = HUB_RESIDENTS) -> tuple[GraphFrames, dict[str, Any]]:
    """The sample graph as frames, and a dict of the ids the alerts refer to.

    ``hub_residents`` sets how many people live at the nursing-home address (the hub).
    """
    persons: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    has_identity: list[dict[str, Any]] = []
    ids: dict[str, Any] = {}

    def person(pid: str, name: str, sex: str, birth: str, region: str, seq: int, **extra: Any) -> str:
        idn = id18(region, birth, seq)
        persons.append(
            {"person_id": pid, "name": name, "sex": sex, "birth_date": birth, "region_code": region, **extra}
        )
        identities.append(
            {
                "id_number": idn,
                "person_id": pid,
                "id_type": "ID18",
                "checksum_ok": True,
                "id_birth_date": birth,
                "id_sex": sex,
                "id_region": region,
                "inferred": False,
                "issued_date": "2005-06-01",
                "death_date": extra.get("death_date"),
                "death_source": extra.get("death_source"),
            }
        )
        has_identity.append({"src": pid, "dst": idn})
        ids[pid] = idn
        return idn

    # shared_account ring: four unrelated pensioners paid into one account held by P001
    person("P001", "张伟", "M", "1955-03-02", "110105", 11)
    person("P002", "李秀英", "F", "1958-07-19", "110105", 22)
    person("P003", "欧阳娜娜", "F", "1960-11-30", "110108", 36)
    person("P004", "王强", "M", "1954-01-08", "110106", 41)
    # deceased_payment
    person(
        "P005", "赵敏", "F", "1950-05-05", "310115", 58, death_date="2025-03-10", death_source="civil_affairs"
    )
    # identity_chain: old 15-digit number renumbered with the birth date moved earlier
    new6 = person("P006", "孙立", "M", "1962-02-14", "440305", 61)
    old6 = "440305650214613"
    identities.append(
        {
            "id_number": old6,
            "person_id": "P006",
            "id_type": "ID15",
            "checksum_ok": None,
            "id_birth_date": "1965-02-14",
            "id_sex": "M",
            "id_region": "440305",
            "inferred": False,
        }
    )
    has_identity.append({"src": "P006", "dst": old6})
    # duplicate_benefit
    person("P007", "周芳", "F", "1959-09-09", "110105", 72)
    # provider_ring patients
    for i, (pid, name) in enumerate((("P008", "吴磊"), ("P009", "郑洁"), ("P010", "冯刚")), start=1):
        person(pid, name, "M" if i != 2 else "F", f"197{i}-0{i}-1{i}", "310115", 80 + i)
    # shell_employer staff
    person("P011", "陈静", "F", "1968-04-04", "440305", 91)
    person("P012", "褚明", "M", "1965-12-12", "440305", 93)
    # nursing-home hub residents
    for i in range(hub_residents):
        persons.append(
            {
                "person_id": f"H{i:05d}",
                "name": f"住户{i:05d}",
                "sex": "MF"[i % 2],
                "birth_date": f"19{40 + i % 15}-01-01",
                "region_code": "110105",
            }
        )

    accounts = [
        {
            "account_no": "6222020200112233445",
            "person_id": "P001",
            "bank": "工商银行",
            "opened_date": "2019-04-01",
        },
        {
            "account_no": "6217000010002000300",
            "person_id": "P005",
            "bank": "建设银行",
            "opened_date": "2010-01-01",
        },
        {
            "account_no": "6228480010000007777",
            "person_id": "P007",
            "bank": "农业银行",
            "opened_date": "2012-01-01",
        },
        {
            "account_no": "6228480010000008888",
            "person_id": "P007",
            "bank": "农业银行",
            "opened_date": "2015-01-01",
        },
        {
            "account_no": "6214830000000006666",
            "person_id": "P006",
            "bank": "招商银行",
            "opened_date": "2016-01-01",
        },
        {
            "account_no": "6214830000000004444",
            "person_id": "P004",
            "bank": "招商银行",
            "opened_date": "2011-01-01",
        },
    ]
    holds = [{"src": a["person_id"], "dst": a["account_no"], "role": "holder"} for a in accounts]
    phones = [{"phone": "13812345678"}, {"phone": "13900001111"}]
    uses_phone = [
        {"src": p, "dst": "13812345678", "since": "2020-01-01"} for p in ("P001", "P002", "P003", "P004")
    ]
    uses_phone.append({"src": "P005", "dst": "13900001111", "since": "2018-01-01"})
    addresses = [
        {"address_key": HUB_ADDRESS, "address": HUB_ADDRESS},
        {"address_key": "上海市浦东新区世纪大道100号", "address": "上海市浦东新区世纪大道100号"},
    ]
    lives_at = [
        {"src": f"H{i:05d}", "dst": HUB_ADDRESS, "address_type": "residence"} for i in range(hub_residents)
    ]
    lives_at.append({"src": "P002", "dst": HUB_ADDRESS, "address_type": "hukou"})
    lives_at.append({"src": "P005", "dst": "上海市浦东新区世纪大道100号", "address_type": "hukou"})

    benefits: list[dict[str, Any]] = []
    receives: list[dict[str, Any]] = []
    paid_to: list[dict[str, Any]] = []

    def benefit(
        bid: str, pid_or_id: str, scheme: str, region: str, start: str, account: str, amount: float
    ) -> None:
        idn = ids.get(pid_or_id, pid_or_id)
        benefits.append(
            {
                "benefit_id": bid,
                "id_number": idn,
                "scheme": scheme,
                "region_code": region,
                "start_date": f"{start}-01",
                "account_no": account,
            }
        )
        receives.append({"src": idn, "dst": bid})
        months = _months(start, REF_MONTH)
        paid_to.append(
            {
                "src": bid,
                "dst": account,
                "months": months,
                "amounts": [amount] * len(months),
                "payment_ids": [f"{bid}-{m}" for m in months],
                "n_months": len(months),
                "total": amount * len(months),
                "first_month": months[0],
                "last_month": months[-1],
            }
        )

    ring_acct = "6222020200112233445"
    for pid, amt in (("P001", 3100.0), ("P002", 2800.0), ("P003", 2650.0), ("P004", 2900.0)):
        benefit(f"B-{pid}", pid, "pension_employee", "110105", "2024-01", ring_acct, amt)
    benefit("B-P005", "P005", "pension_employee", "310115", "2015-06", "6217000010002000300", 3500.0)
    benefit("B-P006", "P006", "pension_employee", "440305", "2022-03", "6214830000000006666", 3300.0)
    benefit("B-P007a", "P007", "pension_employee", "110105", "2020-01", "6228480010000007777", 3000.0)
    benefit("B-P007b", "P007", "pension_resident", "310115", "2021-01", "6228480010000008888", 900.0)

    employers = [
        {
            "employer_id": "91440300MA5F000001",
            "name": "深圳市鹏达劳务咨询有限公司",
            "region_code": "440305",
            "founded_date": "2023-01-05",
        }
    ]
    employed_by = [
        {
            "src": ids[p],
            "dst": "91440300MA5F000001",
            "start_date": "2023-02-01",
            "contribution_base": 4000.0,
            "back_paid_months": 120,
        }
        for p in ("P011", "P012")
    ]
    hospitals = [
        {"hospital_id": "H310001", "name": "浦东康复医院", "level": "二级", "region_code": "310115"},
        {"hospital_id": "H310002", "name": "世纪民营医院", "level": "一级", "region_code": "310115"},
    ]
    doctors = [
        {"doctor_id": "D001", "hospital_id": "H310001", "name": "钱医生"},
        {"doctor_id": "D002", "hospital_id": "H310002", "name": "孔医生"},
    ]
    works_at = [{"src": d["doctor_id"], "dst": d["hospital_id"]} for d in doctors]
    treated_at = []
    n = 0
    for pid in ("P008", "P009", "P010"):
        for h, d in (("H310001", "D001"), ("H310002", "D002")):
            for month in ("2026-03", "2026-06", "2026-09"):
                n += 1
                treated_at.append(
                    {
                        "src": ids[pid],
                        "dst": h,
                        "claim_id": f"C{n:04d}",
                        "doctor_id": d,
                        "admit_date": f"{month}-05",
                        "discharge_date": f"{month}-12",
                        "diagnosis_code": "M54.5",
                        "amount": 8200.0,
                        "fund_paid": 6500.0,
                    }
                )
    activities = []
    has_activity = []
    for i, (pid, date, source) in enumerate(
        (
            ("P001", "2026-08-01", "bank"),
            ("P002", "2026-07-15", "medical"),
            ("P003", "2026-05-20", "transit"),
            ("P004", "2023-05-02", "bank"),
            ("P007", "2026-09-01", "bank"),
        )
    ):
        aid = f"ACT{i:04d}"
        activities.append(
            {"activity_id": aid, "id_number": ids[pid], "date": date, "source": source, "kind": "visit"}
        )
        has_activity.append({"src": ids[pid], "dst": aid})

    frames = GraphFrames.from_records(
        nodes={
            "Person": persons,
            "Identity": identities,
            "Account": accounts,
            "Phone": phones,
            "Address": addresses,
            "Employer": employers,
            "Benefit": benefits,
            "Hospital": hospitals,
            "Doctor": doctors,
            "Activity": activities,
        },
        rels={
            "HAS_IDENTITY": has_identity,
            "RENUMBERED_TO": [
                {
                    "src": old6,
                    "dst": new6,
                    "changed_date": "2021-06-01",
                    "reason": "birth_date_fix",
                    "region_code": "440305",
                }
            ],
            "HOLDS": holds,
            "USES_PHONE": uses_phone,
            "LIVES_AT": lives_at,
            "EMPLOYED_BY": employed_by,
            "RECEIVES": receives,
            "PAID_TO": paid_to,
            "WORKS_AT": works_at,
            "TREATED_AT": treated_at,
            "HAS_ACTIVITY": has_activity,
        },
    )
    frames.meta.update({"reference_date": RUN_DATE})
    ids["old6"] = old6
    return frames, ids


def sample_alerts(ids: dict[str, Any]) -> list[dict[str, Any]]:
    """One contract alert per detector over :func:`sample_frames` (ids from its second value)."""
    ring = ["P001", "P002", "P003", "P004"]
    idn = {k: v for k, v in ids.items() if k.startswith("P")}
    alerts: list[dict[str, Any]] = [
        {
            "alert_id": "shared_account-0000000000000001",
            "detector": "shared_account",
            "score": 91.5,
            "level": "red",
            "members": {
                "person": ring,
                "account": ["6222020200112233445"],
                "phone": ["13812345678"],
                "benefit": [f"B-{p}" for p in ring],
            },
            "amount_at_risk": 2800.0 * 34 + 2650.0 * 34 + 2900.0 * 34,
            "explanation": "4 名互不相关的人员（不同姓氏、不同户籍地址）的养老金汇入同一银行账户，并共用同一手机号。",
            "evidence_cypher": (
                f"MATCH (p:Person)-[h:HOLDS|USES_PHONE]->(x) WHERE p.person_id IN {lit_list(ring)} "
                "RETURN p, h, x LIMIT 500"
            ),
            "first_seen": RUN_DATE,
        },
        {
            "alert_id": "deceased_payment-0000000000000002",
            "detector": "deceased_payment",
            "score": 88.0,
            "level": "red",
            "members": {"identity": [idn["P005"]], "benefit": ["B-P005"]},
            "amount_at_risk": 3500.0 * 18,
            "explanation": "该人员 2025-03-10 已登记死亡，但养老金仍持续发放 18 个月。",
            "evidence_cypher": (
                f"MATCH (i:Identity)-[r:RECEIVES]->(b:Benefit)-[p:PAID_TO]->(a:Account) "
                f"WHERE i.id_number IN {lit_list([idn['P005']])} RETURN i, r, b, p, a"
            ),
            "first_seen": PREVIOUS_RUN_DATE,
            "details": {"months_after_death": 18, "death_date": "2025-03-10"},
        },
        {
            "alert_id": "identity_chain-0000000000000003",
            "detector": "identity_chain",
            "score": 72.0,
            "level": "orange",
            "members": {"identity": sorted([idn["P006"], ids["old6"]]), "person": ["P006"]},
            "amount_at_risk": 3300.0 * 56,
            "explanation": "身份证号变更（birth_date_fix）使出生日期提前 3 年，变更后 9 个月即开始领取养老金。",
            "evidence_cypher": (
                f"MATCH (a:Identity)-[r:RENUMBERED_TO]->(b:Identity) WHERE a.id_number IN {lit_list([ids['old6']])} "
                "RETURN a, r, b"
            ),
            "first_seen": RUN_DATE,
        },
        {
            "alert_id": "duplicate_benefit-0000000000000004",
            "detector": "duplicate_benefit",
            "score": 66.0,
            "level": "orange",
            "members": {"person": ["P007"], "identity": [idn["P007"]], "benefit": ["B-P007a", "B-P007b"]},
            "amount_at_risk": 900.0 * 70,
            "explanation": "同一人在两个地区同时领取养老待遇，发放月份重叠 70 个月。",
            "evidence_cypher": (
                f"MATCH (i:Identity)-[r:RECEIVES]->(b:Benefit) WHERE i.id_number IN {lit_list([idn['P007']])} "
                "RETURN i, r, b"
            ),
            "first_seen": PREVIOUS_RUN_DATE,
        },
        {
            "alert_id": "provider_ring-0000000000000005",
            "detector": "provider_ring",
            "score": 58.0,
            "level": "orange",
            "members": {
                "hospital": ["H310001", "H310002"],
                "doctor": ["D001", "D002"],
                "identity": sorted(idn[p] for p in ("P008", "P009", "P010")),
            },
            "amount_at_risk": 6500.0 * 18,
            "explanation": "两家医院的两名医生反复接诊同一批 3 名病人，入院时间高度同步。",
            "evidence_cypher": (
                "MATCH (i:Identity)-[t:TREATED_AT]->(h:Hospital) "
                f"WHERE h.hospital_id IN {lit_list(['H310001', 'H310002'])} RETURN i, t, h LIMIT 500"
            ),
            "first_seen": RUN_DATE,
        },
        {
            "alert_id": "shell_employer-0000000000000006",
            "detector": "shell_employer",
            "score": 45.0,
            "level": "yellow",
            "members": {
                "employer": ["91440300MA5F000001"],
                "identity": sorted(idn[p] for p in ("P011", "P012")),
            },
            "amount_at_risk": 0.0,
            "explanation": "成立不久的劳务公司为 2 人一次性补缴 120 个月养老保险（疑似挂靠）。",
            "evidence_cypher": (
                "MATCH (i:Identity)-[e:EMPLOYED_BY]->(m:Employer) "
                f"WHERE m.employer_id IN {lit_list(['91440300MA5F000001'])} RETURN i, e, m"
            ),
            "first_seen": RUN_DATE,
        },
        {
            "alert_id": "survival_risk-0000000000000007",
            "detector": "survival_risk",
            "score": 38.0,
            "level": "yellow",
            "members": {"identity": [idn["P004"]], "benefit": ["B-P004"]},
            "amount_at_risk": 2900.0 * 12,
            "explanation": "养老金领取人最近 41 个月没有任何生活轨迹（生存认证等级 low）。",
            "evidence_cypher": (
                f"MATCH (i:Identity)-[r:RECEIVES]->(b:Benefit) WHERE i.id_number IN {lit_list([idn['P004']])} "
                "OPTIONAL MATCH (i)-[h:HAS_ACTIVITY]->(x:Activity) RETURN i, r, b, h, x"
            ),
            "first_seen": RUN_DATE,
            "details": {"grade": "low"},
        },
    ]
    return alerts


def build_sample(directory: Path, *, hub_residents: int = HUB_RESIDENTS) -> tuple[Path, Path]:
    """Write the sample store and alerts into ``directory``.

    ``hub_residents`` sets the size of the hub address (300 by default).

    Returns
    -------
    tuple of Path
        ``(store_path, alerts_dir)``.
    """
    from ringwatch.graph import open_store

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    store_path = directory / "sample.lbug"
    frames, ids = sample_frames(hub_residents)
    alerts = sample_alerts(ids)
    store = open_store(store_path)
    try:
        store.bulk_load(frames)
        store.set_meta({"reference_date": RUN_DATE})
        store.write_alerts(alerts, run_id=RUN_DATE)
    finally:
        store.close()
    out = directory / "out"
    write_alert_files(out, alerts)
    return store_path, out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ringwatch.dashboard.sample DIR``: write the sample store and alerts."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        sys.stderr.write("usage: python -m ringwatch.dashboard.sample DIR\n")
        return 2
    store, out = build_sample(Path(args[0]))
    sys.stderr.write(json.dumps({"store": str(store), "alerts": str(out)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
