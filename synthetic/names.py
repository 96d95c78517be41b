"""Word stock for synthetic but plausible Dutch organisation and place names.

The register must look Dutch without naming a real hospital or practice, so places are built from
Dutch-sounding syllables ("Belveen", "Oosterwaard") rather than taken from a map.
"""

from __future__ import annotations

import numpy as np

PLACE_STARTS = (
    "Aal", "Abel", "Adel", "Bak", "Bel", "Bram", "Brem", "Dal", "Dor", "Drie", "Eem", "Elst", "Ever", "Gaas",
    "Gel", "Gos", "Haar", "Hel", "Hoog", "Hul", "Kal", "Kort", "Lan", "Lier", "Lin", "Mar", "Mer", "Mol",
    "Nes", "Nieuw", "Noor", "Olde", "Oos", "Oud", "Ras", "Rav", "Ros", "Sas", "Schor", "Sin", "Sluis", "Ster",
    "Swal", "Ter", "Tien", "Ulven", "Val", "Vel", "Ven", "Vree", "Wad", "Wes", "Wier", "Wil", "Zand", "Zeven",
    "Zuid", "Zwar",
)
PLACE_ENDS = (
    "broek", "dal", "dam", "dijk", "drecht", "hem", "horst", "hoven", "huizen", "kamp", "land", "lo", "meer",
    "mond", "oord", "rade", "sloot", "stede", "veen", "waard", "wijk", "wold", "woude", "zande",
)
COMPASS = ("Noord-", "Zuid-", "Oost-", "West-", "Midden-")

SAINTS = ("Sint Jacobus", "Sint Anna", "Sint Bavo", "Sint Lucas", "Sint Gerardus", "Sint Clara", "Sint Willibrord",
          "Sint Servaas", "Sint Maarten", "Sint Agnes", "Sint Vitus", "Sint Liduina", "Sint Odulphus")

PRACTICE_MOTIFS = (
    "De Linde", "De Eik", "De Wieg", "Het Nest", "De Ooievaar", "De Bakermat", "Het Vlinderhuis", "De Zonnebloem",
    "De Boomgaard", "De Levensboom", "Het Kraaiennest", "De Wilg", "De Kastanje", "De Esdoorn", "De Beuk",
    "De Berk", "De Hazelaar", "De Vlier", "Het Klaverblad", "De Lotus", "De Tulp", "De Iris", "De Madelief",
    "Het Zonnehuis", "De Golfslag", "De Duinroos", "De Polder", "De Vijverhof", "De Molen", "De Vuurtoren",
    "Het Baken", "De Brug", "De Haven", "Het Anker", "De Zwaluw", "De Merel", "De Kievit", "De Grutto",
    "Het Lieveheersbeestje", "De Regenboog", "Het Zonnetje", "De Dageraad", "Morgenrood", "Nieuw Leven",
    "Levenslicht", "Zwanger & Zo", "Geboortehuis", "Kraamhof", "Het Wiegje", "De Navelstreng", "Bolle Buik",
    "Buikgevoel", "Moederhart", "Babybuik", "De Eerste Adem", "Het Beginpunt", "De Oogst", "De Bron",
    "De Waterlelie", "Het Lindeplein", "De Kersenboom", "De Appelgaard", "De Hoeksteen", "De Ster",
)
PRACTICE_KINDS = ("Verloskundigenpraktijk", "Verloskundigenpraktijk", "Verloskundigenpraktijk", "Verloskundigen",
                  "Verloskundig Centrum", "Vroedvrouwenpraktijk")
TOWN_PARTS = ("Noord", "Zuid", "Oost", "West", "Centrum", "Stad", "Dorp")


def place_names(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """`count` new unique Dutch-sounding place names, none of them in `taken` (which is updated)."""
    names: list[str] = []
    while len(names) < count:
        name = str(rng.choice(PLACE_STARTS)) + str(rng.choice(PLACE_ENDS))
        if rng.random() < 0.08:
            name = str(rng.choice(COMPASS)) + name
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names
