"""How the report writes times, durations, rates and the names of things (one place for both formats)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from responder.domain.types import format_duration

CHART_CAPTION = (
    "Readings against thresholds, with the declared warning level over time (bands: blue L4, yellow L3, orange L2, "
    "red L1). River: the stage against the warning and guaranteed levels. Rain: rain per reading (bars) and the "
    "rolling total the plan's rain rules compare (e.g. 24 h) against their thresholds, in the colour of the level "
    "each gives. 监测数据与阈值、预警级别随时间变化；雨量为规则所用时段（如24小时）的滑动累计雨量与各级阈值。"
)
"""What the chart shows, under it in both formats."""

NEVER = "never 未达到"
NONE = "—"

ACTIONS = {
    "resend_sms": "resend SMS 重发短信",
    "voice_call": "voice call 语音呼叫",
    "notify_group_deputy": "tell group deputies 告知副组长",
    "notify_group_leader": "tell group leaders 告知组长",
    "notify_chain": "report up the chain 逐级上报",
}
STEP_STATUS = {
    "done": "done 已执行",
    "skipped": "skipped 跳过",
    "cancelled": "cancelled 取消",
    "pending": "pending 待执行",
}
CHAIN_OUTCOMES = {
    "informed": "told at declaration 启动即报告",
    "used": "used 已上报",
    "skipped": "skipped: the rung before answered 上一级已回复",
    "not needed": "not needed: all confirmed 均已确认",
    "cancelled": "cancelled 取消",
    "pending": "pending 待执行",
}
GAP_KINDS = {
    "no_leader": "group without a leader 无组长",
    "no_deputy": "group without a deputy 无副组长",
    "headcount_not_reached": "headcount never reached 人数未达标",
    "shared_person": "one person, several groups 一人多岗",
    "two_incidents": "called by two incidents at once 同时被两个事件调用",
}
CHANGE_KINDS = {"raised": "raised 启动", "upgraded": "upgraded 升级", "downgraded": "downgraded 降级",
                "ended": "ended 结束"}
REPLY_OUTCOMES = {
    "note": "a note, not a confirmation 留言",
    "ask_code": "several incidents open: asked which 询问事件代码",
    "unknown_code": "unknown incident code 代码错误",
    "no_open_incident": "after stand-down 结束后回复",
    "unknown_sender": "unknown number 未知号码",
}


def when(value: datetime | None, zone: ZoneInfo) -> str:
    return NONE if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def clock(value: datetime | None, zone: ZoneInfo) -> str:
    return NONE if value is None else value.astimezone(zone).strftime("%H:%M:%S")


def offset(value: timedelta) -> str:
    sign = "-" if value < timedelta(0) else "+"
    return f"T{sign}{format_duration(abs(value))}"


def duration(value: timedelta | None, never: str = NEVER) -> str:
    if value is None:
        return never
    return format_duration(timedelta(seconds=round(value.total_seconds())))


def rate(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def zone_label(zone: ZoneInfo, at: datetime) -> str:
    utc = at.astimezone(zone).strftime("%z")
    return f"{zone.key} (UTC{utc[:3]}:{utc[3:]})"


def level(number: int | None) -> str:
    return NONE if number is None else f"L{number}"


def names(items: tuple[str, ...] | list[str], limit: int = 30) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "")
