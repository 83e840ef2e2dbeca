"""Parser speed and memory (issue 10's targets). Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_parse.py

Targets: 10k-SKU match p99 ≤ 1 ms per item; a 1000-member chain ≤ 0.5 s after start-up; a
20,000-line message ≤ 2 s; resident memory ≤ 150 MB. The machine is shared: each figure is
printed with the calibration (`sum(range(50_000_000))`, seconds) measured just before it, and
with the CPU time beside the wall time (CPU time suffers less from other processes).
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsers import ChainParser, Product, ProductMatcher, parse_message  # noqa: E402
from parsers.chain import _read_entry  # noqa: E402
from parsers.entry import EntryContext  # noqa: E402

FRUITS = ["麒麟西瓜", "阳光玫瑰", "砂糖橘", "土鸡蛋", "猪肉馅", "牛肉馅", "红富士苹果", "东北大米", "九节虾", "三黄鸡",
          "柠檬", "纯牛奶", "香蕉", "火龙果", "猕猴桃", "车厘子", "草莓", "蓝莓", "芒果", "菠萝", "荔枝", "龙眼",
          "山竹", "榴莲", "椰子", "哈密瓜", "黄桃", "水蜜桃", "青枣", "石榴"]
UNITS = ["个", "串", "箱", "盒", "斤", "斤", "斤", "袋", "斤", "只"] * 3
NAMES = ["王姐", "李哥", "张叔", "刘阿姨", "小陈", "赵哥", "Amy", "孙阿姨", "钱多多", "周周"]


def catalog_30() -> list[Product]:
    return [Product(f"P{i:02d}", name, Decimal(10 + i), UNITS[i]) for i, name in enumerate(FRUITS)]


def entry_line(rng: random.Random, k: int) -> str:
    items = " ".join(f"{rng.choice(FRUITS)[-2:]}{rng.randint(1, 5)}{UNITS[rng.randrange(30)]}" for _ in range(rng.randint(1, 3)))
    return f"{rng.randint(1, 30)}栋{rng.randint(1, 30)}0{rng.randint(1, 4)} {rng.choice(NAMES)}{k} {items}"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_both(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def calibration() -> str:
    start = time.time()
    sum(range(50_000_000))
    return f"[calibration {time.time() - start:.2f} s]"


def bench_one_line() -> None:
    rng = random.Random(1)
    ctx = EntryContext(ProductMatcher(catalog_30()))
    lines = [entry_line(rng, k) for k in range(3000)]
    _read_entry(lines[0], 1, ctx)  # warm: jieba and pypinyin loaded
    cal = calibration()
    times = [timed(lambda line=line: _read_entry(line, 1, ctx)) * 1e6 for line in lines[1:]]
    print(f"one entry line, 30-product catalog: median {statistics.median(times):.0f} µs, p99 {pct(times, 0.99):.0f} µs {cal}")


def bench_big_catalog() -> None:
    rng = random.Random(2)
    words = ["苹果", "梨", "桃", "橙", "米", "面", "油", "鸡", "鸭", "鱼", "虾", "蟹", "奶", "蛋", "茶", "酒", "糖", "盐"]
    brands = ["金龙", "福临", "鲁花", "伊利", "蒙牛", "光明", "农夫", "康师傅", "统一", "三只松鼠", "良品", "百草"]
    products = [Product(f"S{i:05d}", f"{rng.choice(brands)}{rng.choice(words)}{rng.choice(words)}{i % 97}号", Decimal(9), "个")
                for i in range(10_000)]
    start = time.perf_counter()
    matcher = ProductMatcher(products)
    build = time.perf_counter() - start
    queries = [p.name[:-3] if i % 3 else p.name for i, p in enumerate(rng.sample(products, 2000))]
    queries += ["鸭蛋", "羊肉馅", "西瓜", "砂糖桔", "阳光玫瑰"] * 20
    cal = calibration()
    times = [timed(lambda q=q: matcher.match(q)) * 1e3 for q in queries]
    print(f"10,000-SKU catalog: index built in {build:.2f} s; match per item median {statistics.median(times):.3f} ms, "
          f"p99 {pct(times, 0.99):.3f} ms (target p99 ≤ 1 ms) {cal}")


def bench_thousand_member_chain() -> None:
    rng = random.Random(3)
    header = "#接龙\n周三水果团 今晚10点截单\n例 3栋502 王姐 西瓜1个\n\n"
    lines = [f"{k}. {entry_line(rng, k)}" for k in range(1, 1001)]
    messages = [header + "\n".join(lines[:k]) for k in range(1, 1001)]
    parser = ChainParser(catalog_30())
    parser.parse(messages[0])  # start-up: jieba, pypinyin, the matcher
    cal = calibration()
    wall, cpu = timed_both(lambda: [parser.parse(m) for m in messages])
    print(f"1000-member chain (message k holds k entries, 500,500 lines): {wall:.2f} s after start-up, "
          f"CPU {cpu:.2f} s (target ≤ 0.5 s; each distinct line parsed once) {cal}")


def bench_adversarial() -> None:
    rng = random.Random(4)
    one_mb = "".join(rng.choice("1234567890西瓜个x×*+.、 -:元斤号栋") for _ in range(1_000_000))
    cal = calibration()
    t1 = timed(lambda: parse_message("#接龙\n团\n1. " + one_mb, catalog_30()))
    t2 = timed(lambda: parse_message("1" * 1_000_000, catalog_30()))
    print(f"adversarial: 1 MB single line {t1:.2f} s, 1 MB of digits {t2:.2f} s (target each ≤ 2 s) {cal}")
    many = "#接龙\n团\n" + "\n".join(f"{k}. {entry_line(rng, k)}" for k in range(1, 20_001))
    cal = calibration()
    wall, cpu = timed_both(lambda: parse_message(many, catalog_30()))
    entries = len(parse_message(many, catalog_30()).entries)
    print(f"20,000-line message: {wall:.2f} s, CPU {cpu:.2f} s, {entries} entries read (target ≤ 2 s) {cal}")


def bench_x1() -> None:
    """X1 of the red-team review, as it measured it."""
    continuation = "#接龙\n周三水果团\n\n1. 王姐 西瓜1个\n" + "x\n" * 999_000
    cal = calibration()
    print(f"X1: one entry with 999,000 continuation lines: {timed(lambda: parse_message(continuation, catalog_30())):.2f} s "
          f"(review: ~50 s) {cal}")


def bench_x2() -> None:
    """X2 of the red-team review, as it measured it."""
    lines = [f"{i}. 王{i} 西瓜1个" for i in range(1, 36_001)]
    title = "#接龙\n周三水果团\n\n" + "\n".join(lines)
    offset, items = len("#接龙\n周三水果团\n\n"), []
    for i, line in enumerate(lines[:35_999], start=1):
        items.append(f"<i><u>w{i}</u><r>{offset}-{len(line)}</r></i>")  # short: under the 2 MB cap
        offset += len(line) + 1
    native = (f"<msg><appmsg><title>{title}</title><type>53</type><extinfo><solitaire_info><![CDATA[<solitaire>"
              f"<content>{''.join(items)}</content></solitaire>]]></solitaire_info></extinfo></appmsg></msg>")
    cal = calibration()
    parsed = []
    wall, cpu = timed_both(lambda: parsed.append(ChainParser(catalog_30()).parse(native, native=True)))
    authors = sum(e.author is not None for e in parsed[0].entries)
    print(f"X2: native 接龙 ({len(native) / 1e6:.1f} MB) with 36,000 entries and 35,999 authors: {wall:.2f} s, "
          f"CPU {cpu:.2f} s, {len(parsed[0].entries)} entries, {authors} with an author (review: 30 s) {cal}")


def main() -> None:
    start = time.perf_counter()
    parse_message("#接龙\n团\n1. 王姐 西瓜1个", catalog_30())
    print(f"start-up (jieba, pypinyin, opencc loaded): {time.perf_counter() - start:.2f} s")
    bench_one_line()
    bench_big_catalog()
    bench_thousand_member_chain()
    bench_adversarial()
    if "--quick" not in sys.argv:
        bench_x1()
        bench_x2()
    print(f"resident memory of a fresh process after parsing the 1000-member chain: {chain_process_rss():.0f} MB "
          "(target ≤ 150 MB)")


def chain_process_rss() -> float:
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--memory"], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def memory_only() -> None:
    rng = random.Random(3)
    lines = [f"{k}. {entry_line(rng, k)}" for k in range(1, 1001)]
    parser = ChainParser(catalog_30())
    for k in range(1, 1001):
        parser.parse("#接龙\n周三水果团\n\n" + "\n".join(lines[:k]))
    print(current_rss_mb())


def current_rss_mb() -> float:
    """Resident memory now (VmRSS). Not ru_maxrss: Linux carries the peak across fork and
    exec, so a child of a big process would report the parent's size."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    if "--memory" in sys.argv:
        memory_only()
    elif "--x2" in sys.argv:
        bench_x2()
    else:
        main()
