"""Write tasks/arithmetic/items.jsonl: integer word problems in one, two and three or more steps.

Deterministic: a seeded random.Random drives every choice, so running this again writes the same bytes
(a test checks that). Answers are non-negative integers. Usage:

    python tasks/arithmetic/generate.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

SEED = 20260521
PER_LEVEL = 40  # items for each of: one step, two steps, three or more steps

NAMES = ["Mia", "Leo", "Ana", "Tom", "Zoe", "Sam", "Nora", "Ben", "Ivy", "Omar", "Lena", "Raj", "Emma", "Kofi",
         "Yuki", "Pablo", "Sara", "Finn", "Aisha", "Max"]
THINGS = [("apple", "apples"), ("pencil", "pencils"), ("sticker", "stickers"), ("marble", "marbles"),
          ("card", "cards"), ("book", "books"), ("cookie", "cookies"), ("shell", "shells")]
GOODS = [("notebook", "notebooks"), ("pen", "pens"), ("ticket", "tickets"), ("sandwich", "sandwiches"),
         ("mug", "mugs"), ("ball", "balls"), ("plant", "plants"), ("candle", "candles")]

Problem = tuple[str, int]


def n_of(n: int, one: str, many: str) -> str:
    """``1 adult``, ``3 adults``."""
    return f"{n} {one if n == 1 else many}"


# ---- one step ---------------------------------------------------------------------------------------------------

def shop_total(r: random.Random) -> Problem:
    one, many = r.choice(GOODS)
    price, count = r.randint(2, 12), r.randint(2, 9)
    return f"A {one} costs ${price}. How many dollars do {count} {many} cost?", price * count


def gift(r: random.Random) -> Problem:
    name, (_, things) = r.choice(NAMES), r.choice(THINGS)
    a, b = r.randint(5, 60), r.randint(2, 40)
    return f"{name} had {a} {things} and a friend gave {name} {b} more. How many {things} does {name} have now?", a + b


def sold(r: random.Random) -> Problem:
    a = r.randint(20, 90)
    b = r.randint(3, a - 1)
    return f"A bakery baked {a} muffins and sold {b} of them. How many muffins are left?", a - b


def trip_minutes(r: random.Random) -> Problem:
    a, b = r.randint(10, 50), r.randint(5, 30)
    return (f"A bus ride takes {a} minutes and the walk after it takes {b} minutes. "
            "How many minutes does the whole trip take?", a + b)


def share(r: random.Random) -> Problem:
    kids, each = r.randint(2, 8), r.randint(2, 9)
    _, things = r.choice(THINGS)
    return (f"{kids * each} {things} are shared equally among {kids} children. "
            f"How many {things} does each child get?", each)


def older(r: random.Random) -> Problem:
    name, a, b = r.choice(NAMES), r.randint(4, 30), r.randint(2, 25)
    return f"{name} is {a} years old. {name}'s cousin is {b} years older. How old is the cousin?", a + b


def ride(r: random.Random) -> Problem:
    speed, hours = r.randint(8, 25), r.randint(2, 6)
    return f"A cyclist rides {speed} km every hour. How many km does she ride in {hours} hours?", speed * hours


def hours_to_minutes(r: random.Random) -> Problem:
    hours = r.randint(2, 9)
    return f"How many minutes are there in {hours} hours?", hours * 60


# ---- two steps --------------------------------------------------------------------------------------------------

def change(r: random.Random) -> Problem:
    name, (_, many) = r.choice(NAMES), r.choice(GOODS)
    count, price = r.randint(2, 5), r.randint(2, 9)
    bill = r.choice([b for b in (20, 50, 100) if b > count * price])
    return (f"{name} buys {count} {many} at ${price} each and pays with a ${bill} bill. "
            f"How many dollars of change does {name} get?", bill - count * price)


def leftover(r: random.Random) -> Problem:
    students, each = r.randint(3, 9), r.randint(2, 5)
    total = students * each + r.randint(0, 15)
    return (f"A teacher has {total} pencils. She gives each of her {students} students {each} pencils. "
            "How many pencils does she have left?", total - students * each)


def father_future(r: random.Random) -> Problem:
    name, age, times, years = r.choice(NAMES), r.randint(5, 12), r.randint(3, 5), r.randint(2, 10)
    return (f"{name} is {age} years old and {name}'s father is {times} times as old. "
            f"How old will the father be in {years} years?", age * times + years)


def two_legs(r: random.Random) -> Problem:
    speed, hours, extra = r.randint(40, 90), r.randint(2, 4), r.randint(10, 60)
    return (f"A train travels {speed} km each hour for {hours} hours and then {extra} km more. "
            "How many km does it travel in total?", speed * hours + extra)


def practice(r: random.Random) -> Problem:
    name, minutes, weeks = r.choice(NAMES), r.choice([10, 15, 20, 25, 30]), r.randint(2, 4)
    return (f"{name} practises the piano for {minutes} minutes every day. "
            f"How many minutes does {name} practise in {weeks} weeks?", minutes * 7 * weeks)


def two_kinds(r: random.Random) -> Problem:
    a, b, x, y = r.randint(1, 5), r.randint(2, 6), r.randint(2, 8), r.randint(2, 8)
    return (f"A shop sells apples at ${a} each and pears at ${b} each. "
            f"How many dollars do {x} apples and {y} pears cost?", a * x + b * y)


def pages(r: random.Random) -> Problem:
    name, total, per_day, days = r.choice(NAMES), r.randint(150, 400), r.randint(10, 30), r.randint(2, 5)
    return (f"A book has {total} pages. {name} reads {per_day} pages a day for {days} days. "
            "How many pages are left to read?", total - per_day * days)


def younger_sum(r: random.Random) -> Problem:
    name, age, gap = r.choice(NAMES), r.randint(10, 20), r.randint(1, 8)
    return (f"{name} is {age} years old and {name}'s brother is {n_of(gap, 'year', 'years')} younger. "
            "What is the sum of their ages?", age + age - gap)


# ---- three or more steps ----------------------------------------------------------------------------------------

def coupon(r: random.Random) -> Problem:
    name, shirt, trousers, coupon_off = r.choice(NAMES), r.randint(8, 20), r.randint(15, 40), r.randint(3, 10)
    return (f"A shirt costs ${shirt} and a pair of trousers costs ${trousers}. {name} buys 2 shirts and "
            f"1 pair of trousers and uses a coupon for ${coupon_off} off. How many dollars does {name} pay?",
            2 * shirt + trousers - coupon_off)


def savings(r: random.Random) -> Problem:
    name, weekly, weeks = r.choice(NAMES), r.randint(5, 15), r.randint(4, 10)
    game = r.randint(10, weekly * weeks // 2)
    book = r.randint(3, weekly * weeks - game)
    return (f"{name} saves ${weekly} every week for {weeks} weeks, then spends ${game} on a game and "
            f"${book} on a book. How many dollars does {name} have left?", weekly * weeks - game - book)


def family_ages(r: random.Random) -> Problem:
    name, age, gap, times = r.choice(NAMES), r.randint(8, 14), r.randint(2, 5), r.randint(3, 4)
    return (f"{name} is {age} years old. {name}'s sister is {gap} years younger, and their mother is {times} "
            f"times {name}'s age. What is the sum of the three ages?", age + (age - gap) + times * age)


def round_trip(r: random.Random) -> Problem:
    speed, hours, extra = r.randint(30, 70), r.randint(1, 3), r.randint(5, 40)
    return (f"A car drives at {speed} km per hour for {n_of(hours, 'hour', 'hours')} to reach a town, comes back the same way, "
            f"and then drives {extra} km more. How many km does it drive in total?", 2 * speed * hours + extra)


def eggs(r: random.Random) -> Problem:
    baskets, per_basket, friends = r.randint(2, 5), r.randint(6, 12), r.randint(2, 6)
    total = baskets * per_basket
    keep = total % friends + friends * r.randint(0, max(0, total // friends - 1) // 2)
    return (f"A farmer collects {baskets} baskets with {per_basket} eggs in each. He keeps {keep} eggs and shares "
            f"the rest equally among {friends} neighbours. How many eggs does each neighbour get?",
            (total - keep) // friends)


def chairs(r: random.Random) -> Problem:
    per_hour, hours, days, broken = r.randint(2, 5), r.randint(4, 8), r.randint(2, 5), r.randint(1, 6)
    return (f"A workshop makes {per_hour} chairs an hour for {hours} hours a day. After {days} days, "
            f"{n_of(broken, 'chair is', 'chairs are')} found broken. How many good chairs are there?", per_hour * hours * days - broken)


def cinema(r: random.Random) -> Problem:
    adult, child, adults, children = r.randint(8, 14), r.randint(4, 7), r.randint(1, 3), r.randint(1, 4)
    snacks = r.randint(3, 12)
    return (f"Cinema tickets cost ${adult} for an adult and ${child} for a child. A family of {n_of(adults, 'adult', 'adults')} and "
            f"{n_of(children, 'child', 'children')} buys tickets and ${snacks} of snacks. How many dollars do they spend?",
            adult * adults + child * children + snacks)


def marathon(r: random.Random) -> Problem:
    days, morning, evening, rest = r.randint(3, 6), r.randint(2, 6), r.randint(1, 4), r.randint(1, 2)
    return (f"A runner runs {morning} km every morning and {evening} km every evening for {days} days, but rests "
            f"on {rest} of those evenings. How many km does she run?", days * (morning + evening) - rest * evening)


LEVELS: list[tuple[int, list[Callable[[random.Random], Problem]]]] = [
    (1, [shop_total, gift, sold, trip_minutes, share, older, ride, hours_to_minutes]),
    (2, [change, leftover, father_future, two_legs, practice, two_kinds, pages, younger_sum]),
    (3, [coupon, savings, family_ages, round_trip, eggs, chairs, cinema, marathon]),
]


def generate(seed: int = SEED) -> list[dict[str, object]]:
    """The items, in a shuffled order that mixes the levels (so ``--limit`` still sees all kinds)."""
    rng = random.Random(seed)
    problems = []
    seen: set[str] = set()
    for steps, makers in LEVELS:
        for i in range(PER_LEVEL):
            maker = makers[i % len(makers)]
            question, answer = maker(rng)
            while question in seen:  # small number ranges repeat now and then: draw again
                question, answer = maker(rng)
            seen.add(question)
            assert answer >= 0 and isinstance(answer, int), (maker.__name__, question, answer)
            problems.append({"steps": steps, "template": maker.__name__, "question": question, "answer": answer})
    rng.shuffle(problems)
    return [
        {"id": f"arith-{n:03d}", "input": {"question": p["question"]}, "reference": str(p["answer"]),
         "steps": p["steps"], "template": p["template"]}
        for n, p in enumerate(problems, start=1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "items.jsonl")
    args = parser.parse_args()
    lines = [json.dumps(item, ensure_ascii=False) for item in generate()]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} items to {args.out}")


if __name__ == "__main__":
    main()
