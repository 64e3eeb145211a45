"""Fake but realistic-looking values, built vectorised with pyarrow compute.

Identifier values are built from integer keys through a keyed bijection, so two
customers get the same phone, address or email exactly when the generator gave them
the same key (a family, a synthetic-identity ring) and never by accident.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FIRST = (
    "Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Leo "
    "Alfie Henry Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel "
    "Arthur Lucas Mohammed Logan Theo Harrison Benjamin Mason Sebastian Finley Adam Dylan "
    "Zachary Riley Teddy Theodore David Elijah Jaxon Toby Louie Reggie Olivia Amelia Isla "
    "Ava Emily Isabella Mia Poppy Ella Lily Evie Grace Sophia Sophie Freya Charlotte Daisy "
    "Ruby Florence Jessica Sienna Alice Phoebe Willow Matilda Scarlett Harper Chloe Ivy "
    "Evelyn Emma Zara Aisha Priya Anika Fatima Maryam Hannah Lucy Holly Megan Niamh Aoife "
    "Ciara Siobhan Kasia Agnieszka Marta Ewa Tomasz Piotr Andrzej Rahul Arjun Vikram Sanjay "
    "Chen Wei Li Ming Yusuf Omar Ibrahim Hassan Kwame Kofi Ama Chidi Ngozi Tunde Bola Rosa "
    "Lucia Mateo Diego Pablo Sofia Elena Ana Marco Luca Giulia Chiara Pierre Camille Lea"
).split()

LAST = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan "
    "Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell "
    "Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan "
    "Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb "
    "Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes "
    "Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham "
    "Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders "
    "Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson "
    "Ball Burton ONeill Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes "
    "Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods "
    "Kowalski Nowak Wisniewski Chen Wang Zhang Liu Nguyen Okafor Mensah Adeyemi Osei Rossi "
    "Russo Ferrari Garcia Rodriguez Martinez Lopez Dubois Moreau Laurent Schmidt Muller Fischer"
).split()
LAST = [n.replace("ONeill", "O'Neill") for n in LAST]

STREETS = (
    "Oak Elm Ash Maple Birch Willow Cedar Station Church Mill High Park Victoria Queen King "
    "Albert Manor Castle Bridge Chapel Green Meadow Orchard Grange Richmond Windsor York "
    "Cambridge Highfield Springfield Kingsway Riverside Brook Hill Stanley Grove Beech Holly "
    "Rowan Hawthorn Chestnut Sycamore Laurel Poplar Alexandra Clarence Mount Union Market"
).split()
STREET_SUFFIX = "Street Road Lane Avenue Close Drive Way Crescent Gardens Terrace Place".split()
CITY_A = (
    "Ash Bel Brad Brig Cam Car Ches Dar Dun Ex Glen Graves Hal Har Ips Kil Lan Lee Lin Mal "
    "Mid New Nor Ox Pen Pres Rad Read Ro Sal Shef Stam Staf Sto Sun Swin Tam Tel Wake War "
    "Wat Wey Whit Win Wor York"
).split()
CITY_B = "ford ton bury field ham ley wick borough mouth stead bridge chester dale minster".split()
POST_AREA = (
    "AB AL B BA BB BD BH BL BN BR BS CA CB CF CH CM CO CR CT CV CW DA DE DH DL DN DT DY "
    "E EC EH EN EX FK FY G GL GU HA HD HG HP HR HU HX IG IP KT L LA LE LL LN LS LU M ME MK "
    "N NE NG NN NP NR NW OL OX PE PL PO PR RG RH RM S SE SG SK SL SM SN SO SP SR SS ST SW "
    "SY TA TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO"
).split()
EMAIL_DOMAINS = (
    "gmail.com outlook.com hotmail.co.uk yahoo.co.uk icloud.com btinternet.com "
    "proton.me sky.com live.co.uk aol.com"
).split()
NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
NI_PREFIX = [a + b for a in NI_FIRST for b in NI_SECOND if a + b not in ("GB", "NK", "TN")]
LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]

BIZ_WORDS = (
    "Northwind Harbour Summit Meridian Crown Beacon Atlas Pioneer Sterling Evergreen Apex "
    "Vanguard Keystone Horizon Redwood Oakridge Silverline Bluewater Ironbridge Lakeside"
).split()
BIZ_TRADES = (
    "Logistics Builders Engineering Foods Healthcare Consulting Retail Motors Print "
    "Software Cleaning Security Hospitality Dental Farms Textiles Media Plumbing Care"
).split()
BIZ_FORMS = ("Ltd", "Ltd", "Ltd", "PLC", "& Co", "Group", "LLP")
SHOP_WORDS = (
    "Corner Village Green Golden Daily Fresh Royal Red Lion Blue Anchor Old Mill Market "
    "Crown Rose Bay Star Harvest Kings Queens Park Station Riverside"
).split()
SHOP_TRADES = (
    "Grocers Bakery Cafe Pharmacy Butchers Pub Newsagent Takeaway Barbers Hardware Florist "
    "Deli Bistro Books Garage Launderette Fitness Opticians Pets Kitchen Supermarket"
).split()
BILLERS = (
    "Northern Power Supply",
    "Aqua Water Services",
    "Skyline Telecom",
    "Harbour Home Insurance",
    "Metro Broadband",
    "City Council Tax",
    "Brightgas Energy",
    "Mobile One",
    "Streamflix",
    "Shield Life Assurance",
    "Homeway Lettings",
    "Fit Club Gyms",
)
EXCHANGES = (
    "CoinHarbour",
    "BitVault Exchange",
    "QuickRemit",
    "SwiftCash Transfers",
    "Krypton Markets",
    "PayAbroad",
    "Satoshi Street",
    "GlobalSend",
)


def _a(values: list[str] | tuple[str, ...]) -> pa.Array:
    return pa.array(list(values), pa.string())


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays and literals element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def digits(x: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of non-negative integers."""
    return pc.utf8_lpad(pc.cast(pa.array(x, pa.int64()), pa.string()), width=width, padding="0")


def ids(prefix: str, x: np.ndarray, width: int) -> pa.Array:
    """Ids like ``C00012345``; entries ``< 0`` become null."""
    x = np.asarray(x, dtype=np.int64)
    out = join(prefix, digits(np.maximum(x, 0), width))
    if (x < 0).any():
        out = pc.if_else(pa.array(x < 0), pa.nulls(len(x), pa.string()), out)
    return out


def pick(words: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
    """``words[idx]`` as a string array (idx wraps around)."""
    return pc.take(_a(words), pa.array(np.asarray(idx, dtype=np.int64) % len(words)))


def scramble(keys: np.ndarray, modulus: int, a: int, b: int) -> np.ndarray:
    """Keyed bijection of ``[0, modulus)``: distinct keys give distinct values."""
    return (np.asarray(keys, dtype=np.int64) % modulus * a + b) % modulus


def coprime(rng: np.random.Generator, modulus: int) -> tuple[int, int]:
    """A random multiplier coprime with ``modulus`` and a random offset."""
    while True:
        a = int(rng.integers(modulus // 3, modulus - 1))
        if np.gcd(a, modulus) == 1:
            return a, int(rng.integers(0, modulus))


def person_names(first: np.ndarray, last: np.ndarray) -> pa.Array:
    """``First Last`` from word indices."""
    return join(pick(FIRST, first), " ", pick(LAST, last))


def business_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Company names such as ``Meridian Logistics Ltd``."""
    return join(
        pick(BIZ_WORDS, rng.integers(0, 1 << 20, n)),
        " ",
        pick(BIZ_TRADES, rng.integers(0, 1 << 20, n)),
        " ",
        pick(BIZ_FORMS, rng.integers(0, 1 << 20, n)),
    )


def shop_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Merchant names such as ``Golden Bakery``."""
    return join(
        pick(SHOP_WORDS, rng.integers(0, 1 << 20, n)),
        " ",
        pick(SHOP_TRADES, rng.integers(0, 1 << 20, n)),
    )


def numbered(base: tuple[str, ...], n: int) -> pa.Array:
    """``base`` names, with a region number once the list runs out."""
    idx = np.arange(n)
    out = pick(base, idx)
    region = idx // len(base)
    if n > len(base):
        suffix = pc.if_else(
            pa.array(region > 0), join(" ", pc.cast(pa.array(region), pa.string())), ""
        )
        out = join(out, suffix)
    return out


def phones(keys: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """UK-style mobile numbers ``+44 7xxx xxxxxx``, one per distinct key."""
    a, b = coprime(rng, 10**9)
    d = digits(scramble(keys, 10**9, a, b), 9)
    return join("+44 7", pc.utf8_slice_codeunits(d, 0, 3), " ", pc.utf8_slice_codeunits(d, 3, 9))


def national_ids(keys: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """National Insurance numbers like ``AB123456C``, one per distinct key."""
    m = len(NI_PREFIX) * 10**6 * 4
    a, b = coprime(rng, m)
    v = scramble(keys, m, a, b)
    return join(pick(NI_PREFIX, v // 4_000_000), digits(v // 4 % 10**6, 6), pick("ABCD", v % 4))


def emails(keys: np.ndarray, first: np.ndarray, last: np.ndarray, rng) -> pa.Array:
    """``first.last123@domain`` with a number that makes the address unique per key."""
    m = 10 ** max(4, len(str(int(keys.max(initial=0) * 10))))
    a, b = coprime(rng, m)
    num = pc.cast(pa.array(scramble(keys, m, a, b)), pa.string())
    f = pc.utf8_lower(pick(FIRST, first))
    lst = pc.replace_substring(pc.utf8_lower(pick(LAST, last)), "'", "")
    style = np.asarray(keys) % 3
    sep = pick((".", "_", ""), style)
    dom = pick(EMAIL_DOMAINS, rng.integers(0, 1 << 20, len(keys)))
    return join(f, sep, lst, num, "@", dom)


def addresses(keys: np.ndarray, town: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """``12 Oak Road, Ashford AB12 3CD``, a function of the key (and town); unique per key."""
    m = len(POST_AREA) * 99 * 10 * 26 * 26
    a, b = coprime(rng, m)
    v = scramble(keys, m, a, b)
    area = pick(POST_AREA, v // (99 * 6760))
    district = pc.cast(pa.array(v // 6760 % 99 + 1), pa.string())
    sector = pc.cast(pa.array(v // 676 % 10), pa.string())
    unit = join(pick(LETTERS, v // 26 % 26), pick(LETTERS, v % 26))
    a2, b2 = coprime(rng, 2**31 - 1)
    h = scramble(keys, 2**31 - 1, a2, b2)
    house = pc.cast(pa.array(h % 239 + 1), pa.string())
    street = join(pick(STREETS, h // 239), " ", pick(STREET_SUFFIX, h // (239 * len(STREETS))))
    place = join(pick(CITY_A, town), pick(CITY_B, town // len(CITY_A)))
    return join(house, " ", street, ", ", place, " ", area, district, " ", sector, unit)


def ips(keys: np.ndarray, pool: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """Dotted IPv4 addresses; ``pool`` picks the address block (0 home, 1 mobile, 2 Wi-Fi)."""
    a, b = coprime(rng, 1 << 24)
    v = scramble(keys, 1 << 24, a, b)
    first = np.array([86, 31, 92], dtype=np.int64)[pool] + (v >> 22)
    parts = [first, (v >> 14) & 255, (v >> 6) & 255, (v & 63) * 4 + 1]
    s = [pc.cast(pa.array(p), pa.string()) for p in parts]
    return pc.binary_join_element_wise(*s, ".")
