"""Build ``bookshop.sqlite``, the database behind the text-to-sql task.

Inkwell Books is an invented chain of five bookshops. Every row is generated here from a fixed seed, so running
``python tasks/text-to-sql/build_db.py`` rebuilds the same content (the same ``iterdump()``); only the SQLite
version stamped in the file header may differ from one machine to another. The gold queries in ``items.jsonl``
were written against exactly this content, so change the generator only together with them.

All names, titles and figures are invented for greentui (2026); no data set was copied. Licence: CC0-1.0.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import sys
from pathlib import Path

SEED = 2026
DATABASE_NAME = "bookshop.sqlite"

# The schema exactly as the model sees it (task.toml's system prompt embeds this text; a test checks they match).
SCHEMA = """\
CREATE TABLE stores (
  store_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  opened_on TEXT NOT NULL -- 'YYYY-MM-DD'
);
CREATE TABLE employees (
  employee_id INTEGER PRIMARY KEY,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  store_id INTEGER NOT NULL REFERENCES stores(store_id),
  manager_id INTEGER REFERENCES employees(employee_id), -- NULL for store managers
  role TEXT NOT NULL, -- 'manager', 'bookseller' or 'assistant'
  hired_on TEXT NOT NULL, -- 'YYYY-MM-DD'
  hourly_wage REAL NOT NULL -- pounds per hour
);
CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  email TEXT NOT NULL UNIQUE,
  city TEXT NOT NULL,
  joined_on TEXT NOT NULL -- 'YYYY-MM-DD'
);
CREATE TABLE authors (
  author_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  country TEXT NOT NULL,
  birth_year INTEGER NOT NULL
);
CREATE TABLE books (
  book_id INTEGER PRIMARY KEY,
  title TEXT NOT NULL UNIQUE,
  author_id INTEGER NOT NULL REFERENCES authors(author_id),
  genre TEXT NOT NULL,
  published_year INTEGER NOT NULL,
  price REAL NOT NULL, -- list price in pounds
  pages INTEGER NOT NULL
);
CREATE TABLE orders (
  order_id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
  store_id INTEGER NOT NULL REFERENCES stores(store_id),
  employee_id INTEGER NOT NULL REFERENCES employees(employee_id), -- who served the order
  ordered_on TEXT NOT NULL, -- 'YYYY-MM-DD'
  status TEXT NOT NULL -- 'completed', 'cancelled' or 'refunded'
);
CREATE TABLE order_items (
  order_id INTEGER NOT NULL REFERENCES orders(order_id),
  book_id INTEGER NOT NULL REFERENCES books(book_id),
  quantity INTEGER NOT NULL,
  unit_price REAL NOT NULL, -- pounds actually charged per copy (list price or a 10% discount)
  PRIMARY KEY (order_id, book_id)
);
"""

STORES = [
    ("Inkwell Covent Garden", "London", "2012-04-14"),
    ("Inkwell Northern Quarter", "Manchester", "2015-09-01"),
    ("Inkwell Clifton", "Bristol", "2017-03-18"),
    ("Inkwell Old Town", "Edinburgh", "2019-11-02"),
    ("Inkwell Headingley", "Leeds", "2022-06-25"),
]

FIRST_NAMES = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Priya", "Aisha", "Zara", "Sofia", "Chloe",
    "Emily", "Hannah", "Lucy", "Ella", "Ruby", "Maya", "Leah", "Nadia", "Oliver", "George", "Harry", "Noah",
    "Jack", "Leo", "Arthur", "Oscar", "Mohammed", "Ravi", "Daniel", "Samuel", "Thomas", "James", "Ethan",
    "Lewis", "Callum", "Finn", "Kwame", "Tomasz",
]
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Khan", "Hughes", "Edwards", "Campbell", "Murray", "Kowalski", "Okafor", "Singh", "Ali", "Lewis", "Morgan",
    "Baker", "Harris", "Cooper", "King", "Ahmed", "Young", "Allen", "Mitchell",
]
# Customers mostly live where a shop is; the rest come from towns without one.
CUSTOMER_CITIES = [
    ("London", 30), ("Manchester", 18), ("Bristol", 14), ("Edinburgh", 14), ("Leeds", 12), ("Glasgow", 5),
    ("Cardiff", 4), ("York", 4), ("Oxford", 4), ("Brighton", 3), ("Liverpool", 3), ("Bath", 2),
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]

GENRES = {
    # genre: (price range in pounds, page range, titles)
    "Fiction": ((7.99, 14.99), (220, 480), [
        "The Salt Orchard", "A Quiet Winter", "Letters to Marlow", "The Glass Harbour", "Small Hours at Dunmore",
        "The Lantern House", "Rivers of Copper", "Summer at Kestrel Bay"]),
    "Mystery": ((7.99, 12.99), (240, 420), [
        "Death on the Night Ferry", "The Vanishing at Hollow Lane", "A Body in the Walled Garden",
        "The Ninth Key", "Murder at Millbrook", "The Silent Witness Room", "Footsteps in the Fog",
        "The Cardinal Cipher"]),
    "Science Fiction": ((8.99, 13.99), (260, 560), [
        "Orbit of Ash", "The Last Relay", "Signal from Kepler Nine", "Machines of Mercy", "The Tidal Engine",
        "Cold Starlight", "Harvest on Titan", "Dust Between Worlds"]),
    "Fantasy": ((8.99, 16.99), (320, 720), [
        "The Iron Crown", "Song of the Ember Queen", "The Thorn Gate", "A Map of Seven Kingdoms",
        "The Wolf and the Willow", "Ashes of Aldermoor", "The Drowned Tower", "Children of the Fen"]),
    "History": ((12.99, 25.00), (280, 640), [
        "The Long Road to Waterloo", "Empires of Salt", "Silk and Steel", "The Hundred Days",
        "Rivers That Built Britain", "The Age of Canals", "Ports and Princes", "A History of Bread"]),
    "Biography": ((10.99, 22.00), (250, 520), [
        "A Life in Colour", "The Engineer from Bristol", "Notes from the Touchline", "Her Own Voice",
        "The Quiet Scientist", "The Last Conductor", "Mapping the Stars", "The Gardener of Kew"]),
    "Science": ((9.99, 20.00), (200, 420), [
        "The Hidden Life of Soil", "Why the Sea Is Salty", "Numbers in Nature", "The Clockwork Cell",
        "A Year of Light", "Atoms for Everyone", "The Weather Machine", "Brains and Bees"]),
    "Poetry": ((8.99, 12.99), (60, 140), [
        "Tide Lines", "Small Green Things", "Paper Lanterns", "Northern Psalms", "What the Birds Said",
        "Salt and Honey", "Night Trains", "The Orchard Poems"]),
    "Cookery": ((16.99, 28.00), (180, 360), [
        "One Pot Suppers", "The Everyday Baker", "Spice Road Kitchen", "Soups for Every Season",
        "The Vegetable Table", "Weekend Breads", "Twenty Minute Dinners", "Sweet Things"]),
    "Children": ((5.99, 9.99), (24, 160), [
        "The Bear Who Lost His Hat", "Milo and the Moon", "Dinosaur Picnic", "The Very Busy Hedgehog",
        "Pirates of Puddle Lane", "Goodnight Little Fox", "The Dragon Next Door", "Penguin Goes to School"]),
}
# Three invented authors per genre, in the genre order above: (name, country, birth year).
AUTHORS = [
    ("Margaret Holloway", "England", 1961), ("Tobias Fenwick", "Ireland", 1978), ("Adaeze Nwosu", "Nigeria", 1985),
    ("Harriet Quayle", "Scotland", 1957), ("Daniel Ashcombe", "England", 1969), ("Ingrid Solberg", "Norway", 1974),
    ("Marcus Vellacott", "USA", 1966), ("Kenji Arakawa", "Japan", 1981), ("Leila Haddad", "Canada", 1988),
    ("Rowan Blackwood", "Wales", 1972), ("Elspeth Marr", "Scotland", 1983), ("Sebastian Croft", "Australia", 1979),
    ("Anne Lyle", "England", 1955), ("Dev Raman", "India", 1970), ("Catherine Ellery", "France", 1964),
    ("Peter Okonjo", "Nigeria", 1959), ("Judith Harrow", "England", 1948), ("Miguel Santos", "Spain", 1976),
    ("Ruth Calder", "Scotland", 1967), ("Samir Qureshi", "England", 1980), ("Hana Novak", "Czechia", 1973),
    ("Niamh Carrick", "Ireland", 1990), ("Owen Pritchard", "Wales", 1952), ("Lucia Ferrante", "Italy", 1986),
    ("Rosa Delgado", "Mexico", 1977), ("Benedict Hale", "England", 1968), ("Meera Iyer", "India", 1984),
    ("Polly Wren", "England", 1975), ("Jonah Tibbs", "USA", 1982), ("Ama Boateng", "Ghana", 1989),
]
ROLES = ("manager", "bookseller", "assistant")


def _date(rng: random.Random, first: str, last: str) -> str:
    """A uniformly random ISO date between ``first`` and ``last`` inclusive."""
    lo = dt.date.fromisoformat(first)
    hi = dt.date.fromisoformat(last)
    return (lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))).isoformat()


def _price(rng: random.Random, lo: float, hi: float) -> float:
    """A shop-like price in pounds: whole pounds ending in .99 or .49 inside [lo, hi], or a round figure."""
    pounds = rng.randint(int(lo), int(hi))
    price = pounds + rng.choice((0.99, 0.99, 0.49, 0.0))
    return round(min(max(price, lo), hi), 2)


def _rows(rng: random.Random) -> dict[str, list[tuple]]:
    """Generate every table's rows from ``rng``; the order of calls fixes the content."""
    stores = [(i + 1, *store) for i, store in enumerate(STORES)]

    employees: list[tuple] = []
    used_names: set[tuple[str, str]] = set()

    def person() -> tuple[str, str]:
        while True:
            name = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            if name not in used_names:
                used_names.add(name)
                return name

    def days_before(iso: str, days: int) -> str:
        return (dt.date.fromisoformat(iso) - dt.timedelta(days=days)).isoformat()

    for store_id, _name, _city, opened_on in stores:
        # a manager joins up to three months before the opening (or replaced the first one since);
        # staff join from a month before the opening until the end of 2022
        manager_id = len(employees) + 1
        first, last = person()
        wage = round(rng.uniform(18.0, 22.5), 2)
        employees.append((manager_id, first, last, store_id, None, "manager", _date(rng, days_before(opened_on, 90), max(opened_on, "2021-12-31")),
                          wage))
        for _ in range(rng.choice((3, 4, 4))):
            role = rng.choice(("bookseller", "bookseller", "assistant"))
            wage = round(rng.uniform(12.6, 15.5) if role == "bookseller" else rng.uniform(11.44, 12.5), 2)
            first, last = person()
            employees.append((len(employees) + 1, first, last, store_id, manager_id, role,
                              _date(rng, days_before(opened_on, 30), "2022-12-31"), wage))

    customers: list[tuple] = []
    emails: set[str] = set()
    cities = [c for c, _ in CUSTOMER_CITIES]
    weights = [w for _, w in CUSTOMER_CITIES]
    for customer_id in range(1, 151):
        first, last = person()
        email = f"{first.lower()}.{last.lower()}@{rng.choice(EMAIL_DOMAINS)}"
        assert email not in emails  # names are unique, so emails are too
        emails.add(email)
        city = rng.choices(cities, weights)[0]
        customers.append((customer_id, first, last, email, city, _date(rng, "2021-01-01", "2024-10-31")))

    authors = [(i + 1, *author) for i, author in enumerate(AUTHORS)]
    books: list[tuple] = []
    for genre_index, (genre, ((p_lo, p_hi), (pg_lo, pg_hi), titles)) in enumerate(GENRES.items()):
        genre_authors = [3 * genre_index + k + 1 for k in range(3)]
        for k, title in enumerate(titles):
            # the first author of each genre writes three books, the others two or three
            author_id = genre_authors[0] if k < 3 else rng.choice(genre_authors[1:])
            birth_year = AUTHORS[author_id - 1][2]
            year = rng.randint(max(1995, birth_year + 25), 2024)
            books.append((len(books) + 1, title, author_id, genre, year, _price(rng, p_lo, p_hi),
                          rng.randint(pg_lo, pg_hi)))

    # Popularity: a few bestsellers, a long tail, and some books nobody buys.
    popularity = [rng.choice((0, 1, 1, 2, 3, 5, 8)) for _ in books]
    # Some customers never order; a few order often.
    appetite = [rng.choice((0, 1, 1, 2, 3, 6)) for _ in customers]
    store_of_city = {city: store_id for store_id, _n, city, _o in stores}
    staff_of_store: dict[int, list[int]] = {}
    for employee in employees:
        staff_of_store.setdefault(employee[3], []).append(employee[0])

    orders: list[tuple] = []
    order_items: list[tuple] = []
    for order_id in range(1, 401):
        customer = rng.choices(customers, appetite)[0]
        store_id = store_of_city.get(customer[4]) or rng.randint(1, len(stores))
        if rng.random() < 0.12:  # shopping while visiting another city
            store_id = rng.randint(1, len(stores))
        employee_id = rng.choice(staff_of_store[store_id])
        ordered_on = _date(rng, max(customer[5], "2023-01-01"), "2024-12-31")
        status = rng.choices(("completed", "cancelled", "refunded"), (88, 7, 5))[0]
        orders.append((order_id, customer[0], store_id, employee_id, ordered_on, status))
        chosen: set[int] = set()
        for _ in range(rng.choices((1, 2, 3, 4), (45, 30, 17, 8))[0]):
            book = rng.choices(books, popularity)[0]
            if book[0] in chosen:
                continue
            chosen.add(book[0])
            quantity = rng.choices((1, 2, 3), (75, 20, 5))[0]
            unit_price = round(book[5] * 0.9, 2) if rng.random() < 0.1 else book[5]
            order_items.append((order_id, book[0], quantity, unit_price))
    orders.sort(key=lambda o: (o[4], o[0]))  # ids follow the date, as a till would number them
    renumber = {old[0]: new_id for new_id, old in enumerate(orders, start=1)}
    orders = [(renumber[o[0]], *o[1:]) for o in orders]
    order_items = sorted((renumber[oi[0]], *oi[1:]) for oi in order_items)

    return {"stores": stores, "employees": employees, "customers": customers, "authors": authors,
            "books": books, "orders": orders, "order_items": order_items}


def build(path: str | os.PathLike[str]) -> Path:
    """Write the database to ``path`` (replacing any file there) and return the path."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    rows = _rows(random.Random(SEED))
    con = sqlite3.connect(tmp)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.executescript(SCHEMA)
        with con:
            for table, table_rows in rows.items():
                marks = ", ".join("?" * len(table_rows[0]))
                con.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)
        problems = con.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign key violations: {problems[:5]}")
        con.execute("VACUUM")
    finally:
        con.close()
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name(DATABASE_NAME)
    print(build(target))
