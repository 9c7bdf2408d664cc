"""The access log's vocabulary: every action and target kind written to it, named once here."""

from __future__ import annotations

from typing import Final

# Staff accounts signing in (console form or the staff API's token); detail: channel, reason.
STAFF_SIGN_IN: Final = "staff.sign_in"
STAFF_SIGN_IN_FAILED: Final = "staff.sign_in_failed"
# One case opened (console page or API detail); a queue page is one entry with its count.
CASE_VIEW: Final = "case.view"
CASE_LIST: Final = "case.list"
# A resident's phone number shown on request (the reveal POST).
PHONE_REVEAL: Final = "phone.reveal"
# Patrol check-ins listed (API) or their coverage shown (console, API).
CHECKINS_VIEW: Final = "checkins.view"
# One grant application opened; a round's page lists its applications (one entry, with the count).
GRANT_APPLICATION_VIEW: Final = "grant_application.view"
GRANT_APPLICATION_LIST: Final = "grant_application.list"
# A download of data (CSV, spreadsheet); detail: kind and rows.
EXPORT: Final = "export"
# A resident's privacy requests: a copy of their data, and its erasure.
PRIVACY_EXPORT: Final = "privacy.export"
PRIVACY_ERASE: Final = "privacy.erase"
# The auditor searching the log (审计日志), and any page or endpoint refused to a role.
AUDIT_SEARCH: Final = "audit.search"
ACCESS_REFUSED: Final = "access.refused"

ALL: Final = (
    STAFF_SIGN_IN,
    STAFF_SIGN_IN_FAILED,
    CASE_VIEW,
    CASE_LIST,
    PHONE_REVEAL,
    CHECKINS_VIEW,
    GRANT_APPLICATION_VIEW,
    GRANT_APPLICATION_LIST,
    EXPORT,
    PRIVACY_EXPORT,
    PRIVACY_ERASE,
    AUDIT_SEARCH,
    ACCESS_REFUSED,
)

# Chinese names for the console (审计日志).
LABELS: Final = {
    STAFF_SIGN_IN: "登录",
    STAFF_SIGN_IN_FAILED: "登录失败",
    CASE_VIEW: "查看案件",
    CASE_LIST: "查看案件列表",
    PHONE_REVEAL: "查看电话号码",
    CHECKINS_VIEW: "查看巡查签到",
    GRANT_APPLICATION_VIEW: "查看微公益申请",
    GRANT_APPLICATION_LIST: "查看微公益申请列表",
    EXPORT: "导出数据",
    PRIVACY_EXPORT: "居民获取个人信息副本",
    PRIVACY_ERASE: "居民删除个人信息",
    AUDIT_SEARCH: "查询审计日志",
    ACCESS_REFUSED: "越权访问被拒",
}

# What an entry's target is (target_type).
TARGET_STAFF: Final = "staff"
TARGET_CASE: Final = "case"
TARGET_RESIDENT: Final = "resident"
TARGET_GRANT_APPLICATION: Final = "grant_application"
TARGET_GRANT_ROUND: Final = "grant_round"
TARGET_GRID: Final = "grid"
TARGET_ENDPOINT: Final = "endpoint"
TARGET_ACCESS_LOG: Final = "access_log"

RESULT_LABELS: Final = {"ok": "成功", "denied": "拒绝", "failed": "失败"}
