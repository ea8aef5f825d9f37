"""Saved example queries for the Cypher console, per detector.

Each is read-only, bounded with ``LIMIT``, and written in the Cypher subset that both
LadybugDB and Neo4j accept (``MATCH``, ``WHERE``, ``WITH … count()``, ``ORDER BY``,
``RETURN`` of nodes and relationships). Queries that return nodes and relationships are
also drawn as a graph in the console.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """One saved query.

    Attributes
    ----------
    detector
        Contract detector name it helps to investigate (``""``: general).
    title_zh, title_en
        What it shows.
    cypher
        The query text.
    """

    detector: str
    title_zh: str
    title_en: str
    cypher: str

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh


EXAMPLES: tuple[Example, ...] = (
    Example(
        "shared_account",
        "收取多项待遇的银行账户（按待遇数）",
        "Accounts receiving several benefits (by benefits)",
        "MATCH (b:Benefit)-[r:PAID_TO]->(a:Account)\n"
        "WITH a, count(b) AS benefits, sum(r.total) AS total\n"
        "WHERE benefits >= 2\n"
        "RETURN a.account_no AS account_no, a.bank AS bank, benefits, total\n"
        "ORDER BY benefits DESC\n"
        "LIMIT 50",
    ),
    Example(
        "shared_account",
        "多笔待遇汇入同一账户（图）",
        "Several benefits paid into one account (graph)",
        "MATCH (i:Identity)-[rc:RECEIVES]->(b:Benefit)-[r:PAID_TO]->(a:Account)<-[h:HOLDS]-(p:Person)\n"
        "RETURN i, rc, b, r, a, h, p\n"
        "LIMIT 100",
    ),
    Example(
        "identity_chain",
        "身份证号变更链（图）",
        "ID number renumbering chains (graph)",
        "MATCH (a:Identity)-[r:RENUMBERED_TO]->(b:Identity)\n"
        "WHERE r.reason <> 'upgrade15'\n"
        "RETURN a, r, b\n"
        "LIMIT 100",
    ),
    Example(
        "identity_chain",
        "一人多个身份证号（按号码数）",
        "Persons with several ID numbers (by count)",
        "MATCH (p:Person)-[:HAS_IDENTITY]->(i:Identity)\n"
        "WITH p, count(i) AS numbers\n"
        "WHERE numbers >= 2\n"
        "RETURN p.person_id AS person_id, numbers\n"
        "ORDER BY numbers DESC\n"
        "LIMIT 50",
    ),
    Example(
        "provider_ring",
        "共享病人最多的医院（按就诊人数）",
        "Hospitals by number of distinct patients",
        "MATCH (i:Identity)-[t:TREATED_AT]->(h:Hospital)\n"
        "WITH h, count(DISTINCT i) AS patients, count(t) AS claims\n"
        "RETURN h.hospital_id AS hospital_id, h.name AS name, patients, claims\n"
        "ORDER BY claims DESC\n"
        "LIMIT 50",
    ),
    Example(
        "provider_ring",
        "医生与其医院（图）",
        "Doctors and their hospitals (graph)",
        "MATCH (d:Doctor)-[w:WORKS_AT]->(h:Hospital)\nRETURN d, w, h\nLIMIT 100",
    ),
    Example(
        "deceased_payment",
        "已记录死亡且仍有待遇支付的身份（图）",
        "Identities with a recorded death and benefit payments (graph)",
        "MATCH (i:Identity)-[rc:RECEIVES]->(b:Benefit)-[r:PAID_TO]->(a:Account)\n"
        "WHERE i.death_date IS NOT NULL\n"
        "RETURN i, rc, b, r, a\n"
        "LIMIT 100",
    ),
    Example(
        "deceased_payment",
        "死亡日期与最后支付月份",
        "Death date and last paid month",
        "MATCH (i:Identity)-[:RECEIVES]->(b:Benefit)-[r:PAID_TO]->(a:Account)\n"
        "WHERE i.death_date IS NOT NULL\n"
        "RETURN i.id_number AS id_number, i.death_date AS death_date, b.benefit_id AS benefit_id,\n"
        "       r.last_month AS last_month, r.n_months AS months_paid, r.total AS total\n"
        "ORDER BY r.total DESC\n"
        "LIMIT 100",
    ),
    Example(
        "duplicate_benefit",
        "同一人领取多项待遇（按待遇数）",
        "Persons drawing several benefits (by count)",
        "MATCH (p:Person)-[:HAS_IDENTITY]->(i:Identity)-[:RECEIVES]->(b:Benefit)\n"
        "WITH p, count(b) AS benefits\n"
        "WHERE benefits >= 2\n"
        "RETURN p.person_id AS person_id, benefits\n"
        "ORDER BY benefits DESC\n"
        "LIMIT 50",
    ),
    Example(
        "duplicate_benefit",
        "人员、证件与待遇（图）",
        "Persons, identities and benefits (graph)",
        "MATCH (p:Person)-[h:HAS_IDENTITY]->(i:Identity)-[r:RECEIVES]->(b:Benefit)\n"
        "RETURN p, h, i, r, b\n"
        "LIMIT 100",
    ),
    Example(
        "shell_employer",
        "补缴月数最多的用人单位",
        "Employers with the most back-paid months",
        "MATCH (i:Identity)-[e:EMPLOYED_BY]->(m:Employer)\n"
        "WITH m, count(i) AS staff, sum(e.back_paid_months) AS back_paid\n"
        "RETURN m.employer_id AS employer_id, m.name AS name, staff, back_paid\n"
        "ORDER BY back_paid DESC\n"
        "LIMIT 50",
    ),
    Example(
        "shell_employer",
        "用人单位与其参保人（图）",
        "Employers and their insured (graph)",
        "MATCH (i:Identity)-[e:EMPLOYED_BY]->(m:Employer)\n"
        "WHERE e.back_paid_months > 12\n"
        "RETURN i, e, m\n"
        "LIMIT 100",
    ),
    Example(
        "survival_risk",
        "养老金领取人及其生活轨迹（图）",
        "Pension recipients and their life traces (graph)",
        "MATCH (i:Identity)-[r:RECEIVES]->(b:Benefit)\n"
        "WHERE b.scheme IN ['pension_employee', 'pension_resident']\n"
        "OPTIONAL MATCH (i)-[h:HAS_ACTIVITY]->(x:Activity)\n"
        "RETURN i, r, b, h, x\n"
        "LIMIT 100",
    ),
    Example(
        "survival_risk",
        "各来源的生活轨迹数量",
        "Life traces per source",
        "MATCH (x:Activity)\nRETURN x.source AS source, count(x) AS traces\nORDER BY traces DESC\nLIMIT 20",
    ),
)


def examples_for(detector: str | None = None) -> list[Example]:
    """Saved queries, optionally only those of one detector."""
    return [e for e in EXAMPLES if detector is None or e.detector == detector]
