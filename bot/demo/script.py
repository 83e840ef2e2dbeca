"""The demo's day: who says what, when. Times are Asia/Shanghai on 2026-11-25/26.

Two campaigns run side by side in the one group: 周三水果团 (until 22:00) and 周三肉菜团 (until
20:00). Each chain goes to its own campaign, each has its own deadline and posts, and the
leader's commands name a campaign where it matters.
"""

from __future__ import annotations

GROUP = "阳光小区3期团购群"
FRUIT, MEAT = "fruit-1125", "meat-1125"
HEAD = "#接龙\n周三水果团\n麒麟西瓜15元/个 阳光玫瑰25元/串 砂糖橘30元/箱\n例 3栋502 王姐 西瓜1个\n"
MEAT_HEAD = "#接龙\n周三肉菜团 晚上8点截单\n五花肉32元/斤 排骨38元/斤 上海青4元/把\n"

L1 = "1. 3栋502 王姐 麒麟西瓜2个 阳光玫瑰一串 不要太熟"
L1_EDIT = "1. 3栋502 王姐 麒麟西瓜3个 阳光玫瑰一串 不要太熟"
L2_ZHANG = "2. 5栋1201 张叔 砂糖橘1箱"
L2_LIU = "2. 6栋302 刘姐 土鸡蛋2盒 已付"
L3_CHEN = "3. 2栋101 小陈 沙糖桔2箱 鸭蛋1盒"
L4_ZHAO = "4. 赵哥 杨光玫瑰2串"
L4_ZHAO_CANCEL = "4. 赵哥 杨光玫瑰2串 取消"
L5_ZHOU = "5. 9栋803 小周 阳光玫瑰1串 两斤猪肉馅"
L6_LATE = "6. 1栋202 孙阿姨 西瓜1个"

M1 = "1. 3栋502 王姐 五花肉2斤 青菜2把"
M2 = "2. 5栋1201 张叔 排骨一斤半"
M3 = "3. 2栋101 小陈 鸡翅2斤 土豆3斤"
M4_LATE = "4. 1栋202 孙阿姨 排骨1斤"


def chain(*lines: str) -> str:
    return HEAD + "\n" + "\n".join(lines)


def meat(*lines: str) -> str:
    return MEAT_HEAD + "\n" + "\n".join(lines)


FRUIT_ALL = (L1_EDIT, L2_ZHANG, L2_LIU.replace("2.", "3."), L3_CHEN.replace("3.", "4."))

# (time, kind, who, name, text) — kind: group / private / post (who: the campaign; text: which
# post) / summary
EVENTS: list[tuple[str, str, str, str, str]] = [
    ("2026-11-25T09:00:00", "post", FRUIT, "", "open"),
    ("2026-11-25T09:01:00", "post", MEAT, "", "open"),
    ("2026-11-25T09:05:00", "group", "wxid_wang", "王姐", chain(L1)),
    ("2026-11-25T09:08:00", "group", "wxid_wang", "王姐", meat(M1)),
    ("2026-11-25T09:12:00", "group", "wxid_zhang", "张叔", chain(L1, L2_ZHANG)),
    ("2026-11-25T09:12:20", "group", "wxid_liu", "刘姐", chain(L1, L2_LIU)),  # copied the same version
    ("2026-11-25T09:15:00", "group", "wxid_zhang", "张叔", meat(M1, M2)),
    ("2026-11-25T09:20:00", "group", "wxid_chen", "小陈", chain(L1, L2_LIU, L3_CHEN)),
    ("2026-11-25T09:31:00", "group", "wxid_wang", "王姐", chain(L1_EDIT, L2_LIU, L3_CHEN)),
    ("2026-11-25T10:02:00", "group", "wxid_zhao", "赵哥", chain(*FRUIT_ALL, L4_ZHAO.replace("4.", "5."))),
    ("2026-11-25T10:30:00", "group", "wxid_zhou", "小周", chain(*FRUIT_ALL, L4_ZHAO.replace("4.", "5."), L5_ZHOU.replace("5.", "6."))),
    ("2026-11-25T11:15:00", "group", "wxid_zhao", "赵哥", chain(*FRUIT_ALL, L4_ZHAO_CANCEL.replace("4.", "5."), L5_ZHOU.replace("5.", "6."))),
    ("2026-11-25T12:00:00", "group", "wxid_wang", "王姐", "我的订单"),
    ("2026-11-25T12:05:00", "group", "wxid_sun", "孙阿姨", "+1 西瓜"),
    ("2026-11-25T14:00:00", "private", "wxid_lijie", "李姐", "汇总"),
    ("2026-11-25T14:01:00", "private", "wxid_lijie", "李姐", "明细 水果"),
    ("2026-11-25T14:02:00", "private", "wxid_wang", "王姐", "汇总"),
    ("2026-11-25T14:03:00", "private", "wxid_lijie", "李姐", "截单"),
    ("2026-11-25T18:40:00", "group", "wxid_chen", "小陈", meat(M1, M2, M3)),
    ("2026-11-25T19:00:00", "post", MEAT, "", "reminder"),
    ("2026-11-25T20:00:00", "post", MEAT, "", "close"),
    ("2026-11-25T20:10:00", "group", "wxid_sun", "孙阿姨", meat(M1, M2, M3, M4_LATE)),
    ("2026-11-25T21:00:00", "post", FRUIT, "", "reminder"),
    ("2026-11-25T21:30:00", "summary", "", "", ""),
    ("2026-11-25T22:00:00", "post", FRUIT, "", "close"),
    ("2026-11-25T22:10:00", "group", "wxid_sun", "孙阿姨", chain(*FRUIT_ALL, L4_ZHAO_CANCEL.replace("4.", "5."), L5_ZHOU.replace("5.", "6."), L6_LATE.replace("6.", "7."))),
    ("2026-11-26T15:00:00", "private", "wxid_lijie", "李姐", "缺货 水果 砂糖橘 1"),
    ("2026-11-26T16:00:00", "post", FRUIT, "", "pickup"),
    ("2026-11-26T16:20:00", "private", "wxid_lijie", "李姐", "核销 1 3"),
    ("2026-11-26T16:21:00", "private", "wxid_lijie", "李姐", "核销 水果 1 3"),
    ("2026-11-26T17:00:00", "post", MEAT, "", "pickup"),
    ("2026-11-26T17:05:00", "private", "wxid_lijie", "李姐", "未取"),
    ("2026-11-26T17:06:00", "private", "wxid_lijie", "李姐", "未付 肉菜"),
    ("2026-11-26T17:07:00", "private", "wxid_lijie", "李姐", "已付 肉菜 1 张叔"),
    ("2026-11-26T17:08:00", "private", "wxid_lijie", "李姐", "佣金"),
    ("2026-11-26T17:09:00", "private", "wxid_admin", "平台小王", "平台汇总"),
]
