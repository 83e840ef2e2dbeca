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
PAID_NOTE = "（已付）"
NO_CAMPAIGN = "现在没有正在进行的团购"
NO_CAMPAIGN_YET = "（还没有开团）"
THIS_PRODUCT = "这个"
PROMOTED = "{product}有人取消了，你候补的“{text}”已经补上啦"
# What the parser flagged on a line (FlagKind values), asked of the member; {unit}: the
# counting word the words end in (三四斤 → 斤), else FLAG_HOW_MANY is asked instead.
FLAG_QUESTIONS = {
    "range": "“{text}”是要几{unit}呀？",
    "negative_quantity": "“{text}”是要几{unit}呀？",
    "implausible_quantity": "“{text}”这个数量对吗？写错了就在接龙里改一下",
    "unexplained_number": "“{text}”里的数字是什么意思呀？",
    "ambiguous_product": "“{text}”是指哪一个呀？写上全名就好",
    "unknown_product_number": "“{text}”是哪个商品呀？",
    "unread": "“{text}”这一行没读懂，能按“商品+数量”写一下吗？",
}
FLAG_QUESTION_DEFAULT = "“{text}”没看明白，能再写清楚一点吗？"
FLAG_HOW_MANY = "“{text}”具体要多少呀？"
# The same, in a few words for the leader's 明细 (待处理).
FLAG_REASONS = {
    "range": "数量没定", "negative_quantity": "数量是负的", "implausible_quantity": "数量不太对",
    "unexplained_number": "有个数字没看懂", "ambiguous_product": "不确定是哪个商品",
    "unknown_product_number": "商品编号对不上", "unread": "这一行没读懂",
}
FLAG_REASON_DEFAULT = "要问一下"
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
DETAILS_REVIEW_LINE = "· {number}{member}：{text}（{reason}）"
# Why a line waits for the leader, when the line itself gives no reason (by item status).
REVIEW_REASONS = {"review": "待团长确认", "unmatched": "商品不在本团"}
EMPTY = "还没有订单"
CAMPAIGN_NOT_FOUND = "没找到活动“{name}”"
CURRENT_CAMPAIGNS = "。现在的团：{titles}"
POSTED = "已发到{count}个群"
CLOSED = "已截单，最终名单发到{count}个群了"
ARRIVED = "到货通知已发到{count}个群"
PICKED = "已核销：{names}"
PAID_MARKED = "已标记已付：{names}"
PICK_NOT_FOUND = "没找到：{what}"
AMBIGUOUS_ORDER = "“{what}”对得上{count}单，这次没改动："
CANDIDATE_LINE = "{where}{number}号 {member}{address}：{items}"
AMBIGUOUS_HINT = "请写清楚是哪一单，比如：{example}"
UNPICKED_HEADER = "【{title}】还有{count}位没取："
UNPICKED_LINE = "{numbers}. {member}：{items}"
UNPICKED_NONE = "【{title}】都取完啦👍"
UNPAID_HEADER = "【{title}】还有{count}单没付，共{amount}元："
UNPAID_LINE = "{number}. {member}：{items}，{amount}元"
UNPAID_NONE = "【{title}】都付清啦👍"
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
CHAIN_HELD = ("“{group}”里的接龙“{title}”，看不出是{campaigns}里哪个团的，先没统计。"
              "回我“归团 团名”就按那个团算，比如：归团 {example}")
NO_TITLE = "（没有标题）"
NOTHING_HELD = "现在没有分不清是哪个团的接龙"
HELD_WHICH = "有几个接龙没分清：{titles}。请写上接龙标题，比如：归团 {example}"
ASSIGNED = "好的，接龙“{title}”按“{campaign}”算，已经统计进去了"
WHICH_CAMPAIGN = "现在有{count}个团：{titles}。请写上团名，比如：{example}"
BOUND_ALREADY = "“{group}”已经是你的群了"
BIND_TAKEN = "“{group}”已经有团长了，要换团长请找平台管理员"
BIND_UNKNOWN = "还没在群里见过“{name}”：先把我拉进群，等群里有人说句话再绑定"
BIND_AMBIGUOUS = "有{count}个群都叫“{name}”，请用群号绑定（绑定 群号）：\n{rooms}"
ROOM_LINE = "{room}（{speakers}）"
ROOM_LINE_SPEAKERS = "群里有{names}"
ROOM_LINE_NOBODY = "还没人说话"
ROOM_RENAMED = "你的群“{old}”改名叫“{new}”了，订单照常统计"
ROOM_AMBIGUOUS = "有{count}个群都叫“{name}”，我分不清哪个是你的，先都不统计。请回我“绑定 群号”：\n{rooms}"
ROOM_LOOKALIKE = "另一个群也叫“{name}”（群号 {room}），那里的接龙不算你的。那个才是你的群的话，请找平台管理员改群号"
GROUP_NOT_FOUND = "没找到群“{name}”"
GROUP_AMBIGUOUS = "有{count}个群都叫“{name}”，请写群号：\n{rooms}"
LEADER_NOT_FOUND = "没有团长“{id}”，先发：授权团长 微信号 名字"
REASSIGNED = "已把“{group}”交给{name}"
MOVED = "“{group}”现在认群号 {room}，订单照旧"
ROOM_NOT_HEARD = "还没在群号 {room} 里听到过人说话"
ROOM_TAKEN = "群号 {room} 已经是“{group}”了"
REASSIGNED_TO_YOU = "平台把群“{group}”交给你了"
REASSIGNED_AWAY = "平台把群“{group}”交给{name}了"
CAMPAIGN_NOT_OPEN = "“{title}”{opens}才开始，到时候会自动发到群里"

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
PICKUP_LINE = "{seq}. @{member} {items}"
LATE_NOTE = "（补发）"
SUMMARY_LEADER = "今日小结（{date}）\n{campaigns}\n今日{orders}单，销售额{gmv}元，佣金约{commission}元"
# One campaign whose whole sales are today's: one line, not the same figures twice.
SUMMARY_LEADER_ONE = "今日小结（{date}）\n【{title}】{orders}单，{amount}元，佣金约{commission}元"
SUMMARY_LEADER_REVIEW = "有{count}条需要你看一下，发“明细”查看"
SUMMARY_CAMPAIGN_LINE = "【{title}】{orders}单，{amount}元"
SUMMARY_ADMIN = "平台日报（{date}）"
SUMMARY_ADMIN_TOTALS = "今日{orders}单，销售额{gmv}元，{groups}个群下了单"
SUMMARY_ADMIN_TOP = "销售额前{count}的群："
SUMMARY_ADMIN_GROUPS = "各群："
SUMMARY_ADMIN_TOP_LINE = "{rank}. {group}（{leader}）{orders}单，{gmv}元"
SUMMARY_ADMIN_CAMPAIGN = "【{title}】累计{orders}单，{gmv}元"
SUMMARY_ADMIN_MORE_CAMPAIGNS = "另有{count}个团在进行"
SUMMARY_ADMIN_ANOMALY = "异常：{items}"
SUMMARY_ANOMALY_REVIEW = "{count}条没认出或待确认"
SUMMARY_ANOMALY_MISSING = "{count}条被别人的接龙覆盖"
SUMMARY_ADMIN_UNSENT = "还有{count}条消息没发出去"
SUMMARY_ADMIN_MORE = "各群明细见看板和导出"
SUMMARY_NOTHING = "今天没有新订单"
# The evening summary's picture (sales by product and by group).
PICTURE_TITLE = "{date} 销售额{gmv}元，{orders}单"
PICTURE_BY_PRODUCT = "按商品"
PICTURE_BY_GROUP = "按群"
PICTURE_OTHERS = "其余{count}项"
PICTURE_EMPTY = "今天没有订单"
PICTURE_AMOUNT = "{amount}元"
PICTURE_PRODUCT_AMOUNT = "{qty}{unit}，{amount}元"


# --- operator alerts (private, to the platform admins) ----------------------------------

ALERT_SET_ASIDE = "提醒：数据库刚才出错，{where}{who}的消息还没记上账，已经存下了，恢复后会自动补上"
ALERT_FAILED = "提醒：{where}{who}的一条消息处理出错，没记上账：{reason}。修好后运行 jielong retry 补上"
ALERT_IN_GROUP = "“{group}”里"
ALERT_IN_PRIVATE = "私聊里"

# --- sending -------------------------------------------------------------------------------

SEND_FAILED_ALERT = "【发送失败】{where}的{what}没能发出去（{reason}）。请看看机器人号是否在线、是否还在群里。"
SEND_FAILED_GROUP = "“{name}”群"
SEND_FAILED_PRIVATE = "给{name}"
SUMMARY_ADMIN_SEND_FAILED = "发送失败：{count}条（{where}）"
OUTBOX_KIND_NAMES = {
    "post-open": "开团帖", "post-reminder": "截单提醒", "post-close": "截单名单", "post-pickup": "到货通知",
    "summary": "晚间小结", "command": "指令回复", "problem": "提醒", "digest": "接龙进度", "greeting": "进群问候",
    "reply": "回复", "alert": "提醒",
}

# --- transcripts and the console (what `jielong replay`, `console` and `demo` print) ----------

TRANSCRIPT_PRIVATE = "私聊 {name}"
CONSOLE_PRIVATE = "私聊"
CONSOLE_HELP = ("一行就是一条消息。多行的接龙：/paste 之后粘贴，单独一行 . 结束（终端支持时也可直接粘贴）。\n"
                "/as 微信号 [名字] 换人 · /who 有谁 · /group 群名 进群 · /private 私聊机器人 · "
                "/time +2h 或 /time 21:30 让时间往后走 · /quit 退出")
CONSOLE_CLOCK = "⏰ {time}"
CONSOLE_START = "沙盒时间 {time}，/time 让时间往后走"
CONSOLE_BOT = "  🤖 [{where}] {text}"
CONSOLE_PICTURE = "  🖼 图片：{path}"
CONSOLE_NOT_SENT = "  （没发出：{reason}）"
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
    "groups": "群数", "from": "起", "to": "止", "orders": "订单数", "gross": "销售额", "adjustments": "退款及缺货调整",
    "net": "实际销售额", "commission_rate": "佣金比例", "commission": "佣金", "payable": "应付佣金",
    "order_no": "订单号", "paid": "已付", "total": "合计",
}
