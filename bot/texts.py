"""Every sentence the bot writes, in one place: short, natural Chinese a leader would post.

Handlers, commands and broadcasts only fill these in; tests compare against them.
"""

from __future__ import annotations

# --- group replies (handlers) ---------------------------------------------------------

UNMATCHED = "没认出“{text}”，{reason}。本团有：{products}"
UNMATCHED_NO_REASON = "没认出“{text}”。本团有：{products}"
LATE = "已过截单时间（{deadline}），“{text}”先记下了，这一团不算，问问团长能不能加哦"
WAITLIST = "{product}已经订满了，“{text}”先排在候补，有人取消会自动补上"
REVIEW = "你改的是别人的那一行，先没有改，已转给团长确认：{text}"
FREE_ORDER = "收到：{items}。记得也写进接龙里，团长确认后才算数哦"
DIGEST = "接龙已有{orders}单：{totals}"
MY_ORDER = "你在“{title}”订了：{items}，共{amount}元{picked}"
MY_ORDER_NONE = "这一团还没看到你的订单哦"
MY_ORDER_PICKED = "（已取）"
NO_CAMPAIGN = "现在没有正在进行的团购"
NO_CAMPAIGN_YET = "（还没有开团）"
THIS_PRODUCT = "这个"
GREETING = "大家好，我是团购小助手，帮团长统计接龙。下单照常接龙就行～"
# A member's 帮助 (in the group, and in private): what a member can do.
MEMBER_HELP_CAMPAIGN = "这一团是“{title}”，{deadline}截单，有：{products}"
MEMBER_HELP_LINES = (
    "下单：复制群里最新的接龙，在最后加一行，比如“{example}”，再发回群里",
    "改单：改好自己那一行再发一次；不要了就在那一行后面写“取消”",
    "查单：发“我的订单”，群里私聊都行",
    "其他问题请找团长",
)
MEMBER_HELP_EXAMPLE = "{seq}. 3栋502 王姐 {product}"
MEMBER_HELP_PRIVATE = "私聊我可以发："

# --- leader and admin commands ----------------------------------------------------------

HELP_HEADER = "可以发这些指令给我："
HELP_LINE = "{usage}  {help}"
UNKNOWN_COMMAND = "没看懂～发“帮助”看看能用的指令"
USAGE = "格式：{usage}"
NOT_ALLOWED = "这个指令只有{role}能用哦"
ROLE_NAMES = {"leader": "团长", "admin": "平台管理员", "member": "团员"}
NO_GROUPS = "你还没有绑定群。在私聊里发：绑定 群名"
TOTALS_HEADER = "【{title}】汇总（{groups}）"
TOTALS_LINE = "{name}：{qty}{unit}，{amount}元"
TOTALS_FOOTER = "共{orders}单，{amount}元"
TOTALS_REVIEW = "另有{count}条没认出或待确认，发“明细”看"
DETAILS_HEADER = "【{title}】明细"
DETAILS_LINE = "{seq}. {member}{address}：{items}，{amount}元{picked}"
DETAILS_REVIEW_HEADER = "待处理："
DETAILS_REVIEW_LINE = "· {member}：{text}（{reason}）"
# Why a line waits for the leader, when the line itself gives no reason (by item status).
REVIEW_REASONS = {"review": "待团长确认", "unmatched": "商品不在本团"}
EMPTY = "还没有订单"
CAMPAIGN_NOT_FOUND = "没找到活动“{name}”"
POSTED = "已发到{count}个群"
CLOSED = "已截单，最终名单发到{count}个群了"
ARRIVED = "到货通知已发到{count}个群"
PICKED = "已核销：{names}"
PICK_NOT_FOUND = "没找到：{what}"
UNPICKED_HEADER = "还有{count}位没取："
UNPICKED_NONE = "都取完啦👍"
ENTRY_NOT_FOUND = "没找到{seq}号"
ENTRY_AMBIGUOUS = "有几个群都有{seq}号，请写上群名：{usage}"
EDITED = "已改{seq}号：{text}"
DELETED = "已删{seq}号：{text}"
SHORTAGE_DONE = "{product}缺{qty}{unit}，已从最后下单的扣：{cuts}"
SHORTAGE_NONE = "{product}没有可扣的订单"
SHORTAGE_NOTICE = "{product}到货不够，你的{qty}{unit}这次没货了，退{refund}元，抱歉～"
PRODUCT_NOT_FOUND = "本团没有“{name}”"
# The refund is already taken off the sales, before the commission is worked out.
COMMISSION = "{month}佣金：{orders}单，销售额{gmv}元{adjust}，按{rate}算，佣金{commission}元"
COMMISSION_ADJUST = "（已扣缺货退款{amount}元）"
BOUND = "已绑定“{group}”"
PLATFORM_HEADER = "【{title}】平台汇总：共{orders}单，{amount}元"
PLATFORM_GROUP_LINE = "{group}：{orders}单，{amount}元"
PROCUREMENT_HEADER = "【{title}】采购单"
LEADERS_LINE = "{name}（{id}）：{groups}，佣金{rate}"
LEADERS_NONE = "还没有团长"
LEADER_AUTHORISED = "已授权团长：{name}（{id}），佣金{rate}"
BAD_RATE = "佣金比例写成 0.1 或 10% 这样哦"

# --- broadcasts and summaries ----------------------------------------------------------

POST_HEADER = "#接龙\n{title}"
POST_PRODUCT = "{name} {price}元/{unit}"
POST_FOOTER = "{deadline}截单，{pickup}在{place}自提\n下单链接：{link}\n\n例 3栋502 王姐 {example}\n\n1. "
POST_FOOTER_NO_LINK = "{deadline}截单，{pickup}在{place}自提\n\n例 3栋502 王姐 {example}\n\n1. "
REMINDER = "还有{lead}截单（{deadline}），要的抓紧接龙哦～目前{orders}单"
# A span of time as a leader says it: 1小时、30分钟、1小时30分钟、1天.
DURATION_UNITS = (("天", 86400), ("小时", 3600), ("分钟", 60), ("秒", 1))
CLOSE_HEADER = "【{title}】已截单，感谢大家！最终名单："
CLOSE_LINE = "{seq}. {member}：{items}"
CLOSE_FOOTER = "共{orders}单。{pickup}在{place}自提"
PICKUP_HEADER = "【{title}】到货啦！请到{place}自提："
PICKUP_LINE = "@{member} {items}"
LATE_NOTE = "（补发）"
SUMMARY_LEADER = "今日小结（{date}）\n{campaigns}\n今日{orders}单，销售额{gmv}元，佣金约{commission}元"
SUMMARY_LEADER_REVIEW = "有{count}条需要你看一下，发“明细”查看"
SUMMARY_CAMPAIGN_LINE = "【{title}】{orders}单，{amount}元"
SUMMARY_ADMIN = "平台日报（{date}）\n{lines}\n合计{orders}单，{gmv}元"
SUMMARY_ADMIN_PROCUREMENT = "采购：{items}"
SUMMARY_ADMIN_ANOMALY = "异常：{count}条没认出/待确认，{missing}条被别人的接龙覆盖"
SUMMARY_NOTHING = "今天没有新订单"

# --- transcripts and the console (what `jielong replay`, `console` and `demo` print) ----------

TRANSCRIPT_PRIVATE = "私聊 {name}"
CONSOLE_PRIVATE = "私聊"
CONSOLE_HELP = ("一行就是一条消息。多行的接龙：/paste 之后粘贴，单独一行 . 结束（终端支持时也可直接粘贴）。\n"
                "/as 微信号 [名字] 换人 · /who 有谁 · /group 群名 进群 · /private 私聊机器人 · "
                "/time +2h 或 /time 21:30 让时间往后走 · /quit 退出")
CONSOLE_CLOCK = "⏰ {time}"
CONSOLE_START = "沙盒时间 {time}，/time 让时间往后走"
CONSOLE_BOT = "  🤖 [{where}] {text}"
CONSOLE_HELD = "  ⏳ 群消息排队中，{seconds}秒后发出（/time +{seconds}s）"
CONSOLE_HELD_LATER = "  ⏳ 群消息排队中，稍后发出（这个群一小时内已发了不少）"
CONSOLE_BACKWARDS = "时间只能往后走（现在是 {time}）"
CONSOLE_BAD_TIME = "没看懂这个时间：{text}。例：/time +2h、/time +30s、/time 21:30、/time 2026-11-26T16:00"
CONSOLE_PASTE = "粘贴消息，单独一行 . 结束"
CONSOLE_WHO_LEADER = "团长 {name}（{id}）：{groups}"
CONSOLE_WHO_ADMIN = "平台管理员 {name}（{id}）"
CONSOLE_WHO_MEMBERS = "{group}的团员：{names}"
CONSOLE_WHO_NOBODY = "{group}还没有团员说过话"
CONSOLE_WHO_PERSON = "{name}（{id}）"
CONSOLE_WHO_HINT = "用 /as 微信号 换成其中一位"
CONSOLE_UNKNOWN_GROUP = "没有叫“{name}”的群，有：{groups}"


# --- exports (--headers zh): a column's Chinese header; a column without one keeps its name ---------

EXPORT_HEADERS = {
    "campaign": "活动", "group": "群", "leader": "团长", "leader_id": "团长微信号", "member_id": "团员微信号",
    "member": "团员", "address": "地址", "entry_seq": "接龙序号", "sku": "商品编码", "product": "商品",
    "qty": "数量", "unit": "单位", "unit_price": "单价", "amount": "金额", "status": "状态", "note": "备注",
    "first_seen": "下单时间", "last_changed": "最后修改", "items": "商品明细", "picked_up": "已取货",
    "groups": "群数", "from": "起", "to": "止", "orders": "订单数", "gmv": "销售额", "adjustments": "调整金额",
    "commission_rate": "佣金比例", "commission": "佣金", "payable": "应付佣金",
}
