"""Masking of personal data shown in the dashboard (pure functions, no Streamlit).

Everything the dashboard shows goes through one of these functions unless the signed-in
role may unmask (``can_unmask``) and the user asked for it (each unmask is audit-logged
by the caller):

- ID numbers keep the first 4 and the last 4 characters: ``1101**********123X``,
- personal names keep the surname (compound surnames included): ``张*``, ``欧阳**``,
- phone numbers keep the first 3 and last 4 digits: ``138****5678``,
- bank accounts keep the last 4 characters: ``****6789``,
- addresses keep the first 6 characters (province/city/district): ``北京市朝阳区****``.

Free text (explanations, Cypher text, console cells) is scrubbed of ID numbers and
mobile numbers with :func:`mask_text`. :func:`matches_masked` lets an investigator
search with a masked value (prefix + suffix match).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: two-character (compound) Chinese surnames kept whole by :func:`mask_name`
_COMPOUND_SURNAME_TEXT = """欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 西门 南宫 独孤
申屠 太史 澹台 百里 呼延 东郭 闻人 赫连 万俟 司空 钟离 濮阳 公冶 宗政 拓跋 单于 淳于 仲孙 羊舌
微生 梁丘 左丘 第五 鲜于 闾丘 亓官 司寇 子车 颛孙 壤驷 公良 漆雕 乐正 谷梁 公西 巫马 段干 东门
公羊 完颜 耶律 爱新"""
COMPOUND_SURNAMES: frozenset[str] = frozenset(_COMPOUND_SURNAME_TEXT.split())

MASK = "*"

#: property names holding personal data, by kind of mask
ID_PROPS: frozenset[str] = frozenset(
    {"id_number", "old_id_number", "new_id_number", "legal_rep_id_number", "identity"}
)
NAME_PROPS: frozenset[str] = frozenset({"name"})
PHONE_PROPS: frozenset[str] = frozenset({"phone"})
ACCOUNT_PROPS: frozenset[str] = frozenset({"account_no", "account"})
ADDRESS_PROPS: frozenset[str] = frozenset({"address", "address_key"})
#: free-form JSON of unknown input columns: never shown masked (it may hold anything)
HIDDEN_PROPS: frozenset[str] = frozenset({"extra"})
#: relationship endpoints in query results, written ``Label:key``
NODE_REF_PROPS: frozenset[str] = frozenset({"_src", "_dst"})
#: labels whose ``name`` is an organisation, not a person (not masked)
ORG_LABELS: frozenset[str] = frozenset({"Employer", "Hospital"})

#: contract member type -> property kind used for masking its ids
MEMBER_KIND: dict[str, str] = {
    "identity": "id_number",
    "account": "account_no",
    "phone": "phone",
    "address": "address",
}

#: node label -> name of its key property (kept in sync with graph.schema.NODES)
LABEL_KEY_PROP: dict[str, str] = {
    "Person": "person_id",
    "Identity": "id_number",
    "Account": "account_no",
    "Phone": "phone",
    "Address": "address_key",
    "Employer": "employer_id",
    "Benefit": "benefit_id",
    "Hospital": "hospital_id",
    "Doctor": "doctor_id",
    "Activity": "activity_id",
    "Alert": "alert_id",
}

_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_LONG_DIGITS = re.compile(r"(?<![0-9A-Za-z])(\d{12,14}|\d{16}|\d{19})(?![0-9A-Za-z])")


def _keep(value: str, head: int, tail: int) -> str:
    n = len(value)
    if n <= head + tail:
        return MASK * n
    return value[:head] + MASK * (n - head - tail) + (value[n - tail :] if tail else "")


def mask_id_number(value: str | None) -> str:
    """Mask an ID number: first 4 and last 4 kept (``1101**********123X``).

    Numbers shorter than 12 characters (passports, other documents) keep only the first
    and the last 2 characters; very short values are masked entirely.

    Parameters
    ----------
    value
        The raw ID number (``None`` gives ``""``).

    Returns
    -------
    str
        The masked number, same length as the input.
    """
    if not value:
        return ""
    s = str(value)
    if len(s) >= 12:
        return _keep(s, 4, 4)
    if len(s) >= 6:
        return _keep(s, 1, 2)
    return MASK * len(s)


def mask_name(value: str | None) -> str:
    """Mask a personal name, keeping the surname: ``张*``, ``欧阳**``, ``J***``.

    Parameters
    ----------
    value
        The raw name (``None`` gives ``""``).

    Returns
    -------
    str
        Surname (one character, or a known compound surname) followed by one ``*`` per
        remaining character; whitespace is kept so Latin names stay readable.
    """
    if not value:
        return ""
    s = str(value).strip()
    if not s:
        return ""
    keep = 2 if len(s) > 2 and s[:2] in COMPOUND_SURNAMES else 1
    return s[:keep] + "".join(ch if ch.isspace() else MASK for ch in s[keep:])


def mask_phone(value: str | None) -> str:
    """Mask a phone number: ``138****5678`` (first 3, last 4 digits kept).

    Parameters
    ----------
    value
        The raw number, possibly with separators (``None`` gives ``""``).

    Returns
    -------
    str
        The masked number; numbers with fewer than 8 digits are masked entirely.
    """
    if not value:
        return ""
    s = str(value)
    if len(s) < 8:
        return MASK * len(s)
    return _keep(s, 3, 4)


def mask_account(value: str | None) -> str:
    """Mask a bank account number: only the last 4 characters are kept (``****6789``).

    Parameters
    ----------
    value
        The raw account number (``None`` gives ``""``).

    Returns
    -------
    str
        Four ``*`` followed by the last 4 characters (the length is hidden).
    """
    if not value:
        return ""
    s = str(value)
    if len(s) <= 4:
        return MASK * len(s)
    return MASK * 4 + s[-4:]


def mask_address(value: str | None) -> str:
    """Mask an address: the first 6 characters (usually province/city/district) are kept.

    Parameters
    ----------
    value
        The raw or normalised address (``None`` gives ``""``).

    Returns
    -------
    str
        ``北京市朝阳区****``; addresses of 6 characters or fewer keep only 2.
    """
    if not value:
        return ""
    s = str(value)
    head = 6 if len(s) > 8 else 2
    return s[:head] + MASK * 4


def mask_text(value: str | None) -> str:
    """Scrub free text: ID numbers, mobile numbers and long digit runs (accounts) are masked.

    Names inside free text cannot be found reliably and are left as they are; the
    dashboard never builds free text from raw names itself.

    Parameters
    ----------
    value
        Any text (``None`` gives ``""``).

    Returns
    -------
    str
        The text with every 18/15-digit ID number, 11-digit mobile number and 12–19
        digit number replaced by its masked form.
    """
    if not value:
        return ""
    s = str(value)
    s = _ID18.sub(lambda m: mask_id_number(m.group(1)), s)
    s = _ID15.sub(lambda m: mask_id_number(m.group(1)), s)
    s = _MOBILE.sub(lambda m: mask_phone(m.group(1)), s)
    return _LONG_DIGITS.sub(lambda m: mask_account(m.group(1)), s)


def mask_prop(prop: str, value: Any, label: str | None = None) -> Any:
    """Mask one property value by property name (and node label, for ``name``).

    Parameters
    ----------
    prop
        Property or column name; a ``var.prop`` column name is reduced to ``prop``.
    value
        The value; non-string values (numbers, dates, lists of numbers) pass unchanged,
        lists of strings are masked element-wise.
    label
        Node label the property belongs to, when known. ``name`` of an ``Employer`` or
        ``Hospital`` is an organisation name and is not masked.

    Returns
    -------
    Any
        The masked value (``None`` stays ``None``).
    """
    if value is None:
        return None
    name = prop.rsplit(".", 1)[-1].lower()
    if isinstance(value, list | tuple):
        return [mask_prop(name, v, label) for v in value]
    if isinstance(value, Mapping):
        return mask_props(value, label)
    if not isinstance(value, str):
        return value
    if name in HIDDEN_PROPS:
        return MASK * 3 if value else value
    if name in NODE_REF_PROPS and ":" in value:
        ref_label, ref_key = value.split(":", 1)
        return f"{ref_label}:{mask_key(ref_label, ref_key)}"
    if name in ID_PROPS:
        return mask_id_number(value)
    if name in NAME_PROPS:
        return value if label in ORG_LABELS else mask_name(value)
    if name in PHONE_PROPS:
        return mask_phone(value)
    if name in ACCOUNT_PROPS:
        return mask_account(value)
    if name in ADDRESS_PROPS:
        return mask_address(value)
    return mask_text(value)


def mask_props(props: Mapping[str, Any], label: str | None = None) -> dict[str, Any]:
    """Mask every property of a node or relationship (see :func:`mask_prop`).

    Parameters
    ----------
    props
        Property name -> value.
    label
        Node label, when known (decides whether ``name`` is a person's name).

    Returns
    -------
    dict
        A new mapping with masked values.
    """
    return {k: mask_prop(k, v, label) for k, v in props.items()}


def mask_key(label: str, key: str) -> str:
    """Mask a node key for display, by node label (Identity, Account, Phone, Address)."""
    prop = LABEL_KEY_PROP.get(label, "")
    return str(mask_prop(prop, key, label)) if prop else mask_text(key)


def mask_member(member_type: str, value: str) -> str:
    """Mask one ``members`` id of an alert by contract member type.

    Parameters
    ----------
    member_type
        Contract member type (``person``, ``identity``, ``account``, ``phone`` …).
    value
        The id.

    Returns
    -------
    str
        Masked for identity/account/phone/address; other ids (person, benefit, employer,
        hospital, doctor ids) are internal keys and are returned as they are.
    """
    kind = MEMBER_KIND.get(member_type)
    if kind is None:
        return str(value)
    return str(mask_prop(kind, str(value)))


def _split_mask(pattern: str) -> tuple[str, str] | None:
    if MASK not in pattern:
        return None
    first = pattern.index(MASK)
    last = pattern.rindex(MASK)
    return pattern[:first], pattern[last + 1 :]


def matches_masked(pattern: str, value: str | None) -> bool:
    """Does ``value`` fit a search ``pattern`` that may be masked?

    A pattern with ``*`` matches values that start with the part before the first ``*``
    and end with the part after the last one (``1101**********123X``, ``****6789``,
    ``138****5678``), and are at least as long as those two parts together. A pattern
    without ``*`` must equal the value. Comparison ignores case and surrounding spaces.

    Parameters
    ----------
    pattern
        What the investigator typed.
    value
        A candidate id.

    Returns
    -------
    bool
        Whether the value matches.
    """
    if value is None:
        return False
    p = pattern.strip().upper()
    v = str(value).strip().upper()
    if not p:
        return False
    parts = _split_mask(p)
    if parts is None:
        return v == p
    head, tail = parts
    if not head and not tail:
        return False
    return len(v) >= len(head) + len(tail) and v.startswith(head) and v.endswith(tail)


def mask_pattern_parts(pattern: str) -> tuple[str, str] | None:
    """Split a masked search pattern into (prefix, suffix), upper-cased; ``None`` if unmasked."""
    parts = _split_mask(pattern.strip().upper())
    if parts is None or parts == ("", ""):
        return None
    return parts
