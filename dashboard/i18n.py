"""Every user-visible string of the dashboard, in Chinese (default) and English.

Pages call ``t(key, **fmt)`` (see :mod:`ringwatch.dashboard.common`), which looks the key up
here for the session's language. Keys missing from :data:`STRINGS` raise ``KeyError`` in
tests (``tests/test_dashboard.py`` checks that every key used has both languages).
"""

from __future__ import annotations

from typing import Any

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"

STRINGS: dict[str, tuple[str, str]] = {
    # app frame
    "app_title": ("ringwatch 社保欺诈团伙侦测", "ringwatch social-insurance fraud rings"),
    "english": ("English", "English"),
    "local_mode": (
        "本地单用户模式 / local single-user mode：未配置用户文件，所有操作记为用户 local。",
        "本地单用户模式 / local single-user mode: no users file configured; all actions are recorded as user local.",
    ),
    "signed_in_as": ("当前用户：{user}（{role}）", "Signed in as {user} ({role})"),
    "logout": ("退出登录", "Log out"),
    "unmask": ("显示未脱敏数据（将记录审计）", "Show unmasked data (audit-logged)"),
    "unmask_on": ("未脱敏显示已开启，已记入审计日志。", "Unmasked display is on and has been audit-logged."),
    "expand_cap": ("展开邻居上限（节点数）", "Neighbour expansion cap (nodes)"),
    "store_ok": ("图数据库：{store}", "Graph store: {store}"),
    "store_missing": (
        "图数据库不可用（{error}）：图与时间线功能已停用，告警列表仍可使用。",
        "Graph store unavailable ({error}): graph and timeline features are off; the alert list still works.",
    ),
    "alerts_file": ("告警文件：{path}（{n} 条）", "Alerts file: {path} ({n} alerts)"),
    "no_alerts": ("没有告警（{path} 不存在或为空）。", "No alerts ({path} is missing or empty)."),
    # roles
    "role_viewer": ("只读", "viewer"),
    "role_investigator": ("调查员", "investigator"),
    "role_supervisor": ("主管", "supervisor"),
    # login
    "login_title": ("登录", "Sign in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_button": ("登录", "Sign in"),
    "login_failed": ("用户名或密码错误。", "Wrong user name or password."),
    "users_file_error": ("用户文件无效：{error}", "Invalid users file: {error}"),
    # pages
    "page_overview": ("总览", "Overview"),
    "page_queue": ("告警队列", "Alert queue"),
    "page_case": ("案件详情", "Case view"),
    "page_console": ("Cypher 控制台", "Cypher console"),
    "page_cases": ("案件工作", "Case work"),
    # detectors
    "det_shared_account": ("共用账户团伙", "Shared accounts"),
    "det_identity_chain": ("一人多号身份链", "Identity chains"),
    "det_provider_ring": ("医患合谋", "Provider rings"),
    "det_deceased_payment": ("死亡后领取", "Paid after death"),
    "det_duplicate_benefit": ("重复领取", "Duplicate benefits"),
    "det_shell_employer": ("空壳单位挂靠", "Shell employers"),
    "det_survival_risk": ("生存认证风险", "Survival risk"),
    # levels
    "lvl_red": ("红", "red"),
    "lvl_orange": ("橙", "orange"),
    "lvl_yellow": ("黄", "yellow"),
    # statuses
    "st_new": ("新建", "new"),
    "st_investigating": ("调查中", "investigating"),
    "st_confirmed": ("已确认", "confirmed"),
    "st_dismissed": ("已排除", "dismissed"),
    # columns
    "col_alert_id": ("告警编号", "Alert id"),
    "col_detector": ("检测器", "Detector"),
    "col_score": ("评分", "Score"),
    "col_level": ("等级", "Level"),
    "col_amount": ("涉及金额（元）", "Amount at risk (¥)"),
    "col_first_seen": ("首次发现", "First seen"),
    "col_members": ("成员数", "Members"),
    "col_region": ("地区", "Region"),
    "col_status": ("状态", "Status"),
    "col_explanation": ("说明", "Explanation"),
    "col_count": ("数量", "Count"),
    "col_assignee": ("负责人", "Assignee"),
    "col_updated": ("更新时间", "Updated"),
    "col_updated_by": ("更新人", "Updated by"),
    "col_notes": ("备注数", "Notes"),
    "col_in_run": ("在当前运行中", "In current run"),
    "col_month": ("月份", "Month"),
    "col_benefit": ("待遇", "Benefit"),
    "col_date": ("日期", "Date"),
    "col_kind": ("类型", "Kind"),
    "col_type": ("类型", "Type"),
    "col_id": ("编号", "Id"),
    "col_label": ("节点类型", "Node type"),
    "col_property": ("属性", "Property"),
    "col_value": ("值", "Value"),
    # overview
    "ov_title": ("总览", "Overview"),
    "ov_alerts": ("告警总数", "Alerts"),
    "ov_red": ("红色", "Red"),
    "ov_orange": ("橙色", "Orange"),
    "ov_yellow": ("黄色", "Yellow"),
    "ov_amount": ("涉及金额", "Amount at risk"),
    "ov_new": ("本次新增", "New since last run"),
    "ov_new_help": (
        "首次发现日期等于最近一次运行日期（{date}）的告警",
        "Alerts whose first_seen equals the latest run date ({date})",
    ),
    "ov_by_detector": ("各检测器告警数（按等级）", "Alerts per detector (by level)"),
    "ov_amount_by_detector": ("各检测器涉及金额", "Amount at risk per detector"),
    "ov_score_hist": ("评分分布", "Score distribution"),
    "ov_by_region": ("告警最多的地区（前 {n}）", "Regions with most alerts (top {n})"),
    "ov_case_status": ("案件处理状态", "Case status"),
    "ov_store_counts": ("图数据规模", "Graph size"),
    "ov_region_unknown": ("未知", "unknown"),
    # queue
    "q_title": ("告警队列", "Alert queue"),
    "q_filters": ("筛选", "Filters"),
    "all": ("全部", "All"),
    "q_detectors": ("检测器", "Detectors"),
    "q_levels": ("等级", "Levels"),
    "q_regions": ("地区", "Regions"),
    "q_statuses": ("状态", "Statuses"),
    "q_score": ("评分范围", "Score range"),
    "q_amount_min": ("最低金额（元）", "Min amount (¥)"),
    "q_amount_max": ("最高金额（元，0 = 不限）", "Max amount (¥, 0 = no limit)"),
    "q_new_only": ("只看本次新增", "New since last run only"),
    "q_search": (
        "搜索：人员编号 / 身份证号 / 账号 / 手机号 / 告警编号",
        "Search: person id / ID number / account / phone / alert id",
    ),
    "q_search_help": (
        "可输入脱敏形式，如 1101**********123X 或 ****6789（按前缀 + 后缀匹配）",
        "Masked input works, e.g. 1101**********123X or ****6789 (prefix + suffix match)",
    ),
    "q_sort": ("排序", "Sort by"),
    "q_desc": ("降序", "Descending"),
    "q_page_size": ("每页", "Per page"),
    "q_page": ("页码", "Page"),
    "q_matching": ("共 {n} 条匹配，第 {page}/{pages} 页", "{n} matching, page {page} of {pages}"),
    "q_open": ("打开案件", "Open case"),
    "q_open_pick": ("选择本页告警", "Pick an alert on this page"),
    "q_select_hint": ("点击表格中的一行即可打开案件。", "Click a row in the table to open its case."),
    "q_none": ("没有符合条件的告警。", "No alert matches."),
    # case view
    "c_title": ("案件详情", "Case view"),
    "c_pick": ("告警编号", "Alert id"),
    "c_pick_help": ("从告警队列打开，或在此输入告警编号", "Open from the queue, or type an alert id here"),
    "c_unknown": ("没有此告警：{alert_id}", "No such alert: {alert_id}"),
    "c_none": ("请先在告警队列中选择一条告警。", "Pick an alert in the queue first."),
    "c_explanation": ("说明", "Explanation"),
    "c_details": ("检测细节", "Detector details"),
    "c_tab_graph": ("证据图", "Evidence graph"),
    "c_tab_members": ("成员", "Members"),
    "c_tab_timeline": ("时间线", "Timeline"),
    "c_tab_cypher": ("证据查询", "Evidence Cypher"),
    "c_tab_history": ("审计记录", "Audit trail"),
    "c_tab_notes": ("备注与审计", "Notes & audit"),
    "c_graph_caption": (
        "单击节点查看属性，双击或点“展开”加载邻居（每次最多 {cap} 个，画布最多 {max_nodes} 个节点）。",
        "Click a node for its properties; double-click or use Expand to load neighbours "
        "(at most {cap} per expansion, {max_nodes} nodes on the canvas).",
    ),
    "c_graph_empty": ("证据查询没有返回图数据。", "The evidence query returned no graph."),
    "c_graph_error": ("证据查询失败：{error}", "Evidence query failed: {error}"),
    "c_graph_truncated": (
        "证据查询结果已截断（上限 {limit} 行）。",
        "Evidence result truncated (limit {limit} rows).",
    ),
    "c_node_pick": ("选中节点", "Selected node"),
    "c_node_props": ("节点属性", "Node properties"),
    "c_expand": ("展开邻居（上限 {cap}）", "Expand neighbours (cap {cap})"),
    "c_expanded": ("已加载 {added} 个新节点。", "Loaded {added} new nodes."),
    "c_more_not_shown": ("还有 {n} 个未显示 / {n} more not shown", "还有 {n} 个未显示 / {n} more not shown"),
    "c_canvas_full": (
        "画布已达 {max_nodes} 个节点上限，请缩小范围。",
        "The canvas reached its {max_nodes}-node limit; narrow the view.",
    ),
    "c_reset_graph": ("重置证据图", "Reset graph"),
    "c_graph_size": ("当前画布：{nodes} 个节点，{edges} 条边", "Canvas: {nodes} nodes, {edges} edges"),
    "c_members_of": ("{type}（{n}）", "{type} ({n})"),
    "c_payments": ("每月支付金额", "Payments per month"),
    "c_traces": ("就诊与生活轨迹", "Claims and life traces"),
    "c_death": ("死亡日期", "Death date"),
    "c_after_death": ("死亡次月之后的支付", "Paid after the month after death"),
    "c_before_death": ("正常支付", "Paid while alive"),
    "c_no_timeline": (
        "没有该案件成员的支付、就诊或生活轨迹记录。",
        "No payments, claims or life traces for the members.",
    ),
    "c_timeline_capped": ("时间线只显示前 {n} 条记录。", "The timeline shows the first {n} records only."),
    "c_copy_hint": ("右上角按钮可一键复制。", "Use the button at the top right to copy."),
    "c_cypher_masked": (
        "查询中的证件号等已脱敏显示；“在控制台运行”会执行原始查询。",
        "ID numbers in the query are masked; “Run in console” executes the original query.",
    ),
    "c_run_in_console": ("在控制台运行", "Run in console"),
    "c_casework": ("案件处理", "Case work"),
    "c_status": ("状态", "Status"),
    "c_assignee": ("负责人", "Assignee"),
    "c_save": ("保存", "Save"),
    "c_saved": ("已保存。", "Saved."),
    "c_nochange": ("没有改动。", "Nothing changed."),
    "c_notes": ("备注", "Notes"),
    "c_note_new": ("新备注", "New note"),
    "c_note_add": ("添加备注", "Add note"),
    "c_note_empty": ("备注不能为空。", "A note cannot be empty."),
    "c_readonly": ("当前角色只读，不能修改案件。", "Your role is read-only: case work is disabled."),
    "c_no_store": (
        "图数据库不可用，无法显示此部分。",
        "The graph store is unavailable; this part cannot be shown.",
    ),
    "member_person": ("人员", "Persons"),
    "member_identity": ("身份证件", "Identities"),
    "member_account": ("银行账户", "Accounts"),
    "member_phone": ("手机号", "Phones"),
    "member_address": ("地址", "Addresses"),
    "member_employer": ("用人单位", "Employers"),
    "member_hospital": ("医院", "Hospitals"),
    "member_doctor": ("医生", "Doctors"),
    "member_benefit": ("待遇", "Benefits"),
    # console
    "k_title": ("Cypher 控制台（只读）", "Cypher console (read-only)"),
    "k_caption": (
        "查询在只读连接上执行，写入语句会被拒绝；结果中的个人信息已脱敏。",
        "Queries run on a read-only connection; writes are rejected. Personal data in results is masked.",
    ),
    "k_examples": ("示例查询", "Example queries"),
    "k_load": ("载入示例", "Load example"),
    "k_query": ("Cypher 查询", "Cypher query"),
    "k_limit": ("最多返回行数", "Row limit"),
    "k_timeout": ("超时（秒）", "Timeout (s)"),
    "k_run": ("执行", "Run"),
    "k_empty": ("请输入查询。", "Type a query."),
    "k_rejected": (
        "查询被拒绝：控制台只允许只读查询。{error}",
        "Query rejected: the console is read-only. {error}",
    ),
    "k_failed": ("查询失败：{error}", "Query failed: {error}"),
    "k_rows": ("{n} 行，用时 {s:.2f} 秒", "{n} rows in {s:.2f} s"),
    "k_truncated": ("结果已截断为 {n} 行。", "Result truncated to {n} rows."),
    "k_graph": ("结果图（{nodes} 个节点）", "Result graph ({nodes} nodes)"),
    "k_evidence": ("来自告警 {alert_id} 的证据查询", "Evidence query of alert {alert_id}"),
    "k_run_evidence": ("执行证据查询", "Run evidence query"),
    "k_clear_evidence": ("清除", "Clear"),
    "k_no_store": ("图数据库不可用，控制台已停用。", "The graph store is unavailable; the console is off."),
    # case work page
    "w_title": ("案件工作", "Case work"),
    "w_mine": ("只看分配给我的", "Assigned to me only"),
    "w_none": ("还没有处理过的案件。", "No case has been worked on yet."),
    "w_audit": ("审计日志（最新在前）", "Audit log (newest first)"),
    "w_verify": ("校验审计链", "Verify audit chain"),
    "w_verify_ok": ("审计链完整：共 {n} 条记录。", "Audit chain intact: {n} entries."),
    "w_verify_bad": (
        "审计链校验失败（已检查 {n} 条，问题位置：{seq}）：{reason}",
        "Audit chain broken (checked {n}, at entry {seq}): {reason}",
    ),
    "w_time": ("时间", "Time"),
    "w_user": ("用户", "User"),
    "w_action": ("操作", "Action"),
    "w_detail": ("内容", "Detail"),
}


def tr(key: str, lang: str = DEFAULT_LANG, **fmt: Any) -> str:
    """Translate ``key`` to ``lang`` (``zh`` or ``en``) and format it with ``fmt``.

    Raises
    ------
    KeyError
        Unknown key (a programming error, caught by the tests).
    """
    zh, en = STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**fmt) if fmt else text
