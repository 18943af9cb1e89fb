"""Give records the names people in the region type: Russian and Kazakh (Cyrillic, and
Kazakh Latin where official) aliases, written into the seed YAML.

    .venv/bin/python scripts/regional_names.py          # writes seeds/*.yaml
    .venv/bin/python scripts/regional_names.py --check  # exit 1 if a file would change

Two tables, typed by hand from the spelling official and regional sites use (countries'
own names come from pycountry's translations when the data is loaded, not from here):
``NAMED`` gives the names of the people and places that titles, names and locations
mention, so an event, agreement or project naming Tokayev or Moscow answers to
``Тоқаев``, ``Токаев`` and ``Мәскеу``; ``RECORDS`` gives a record's own names by its slug
(a country by its code). Names are only added, after the file's own aliases; a second run
changes nothing. ``Air Astana`` is an airline, not the city; ``Almaty region`` is not the
city of Almaty.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from place_records import SEEDS, record_blocks, set_line

SECTIONS = ("countries", "organizations", "deposits", "projects", "agreements", "events")
MENTIONING = ("projects", "agreements", "events")  # whose titles name people and places

# What a title, name or location says in English -> the names in Russian, Kazakh and
# Kazakh Latin (one spelling where they agree).
NAMED: dict[str, list[str]] = {
    "Tokayev": ["Токаев", "Тоқаев", "Toqaev"],
    "Xi": ["Си Цзиньпин"],
    "Costa": ["Антониу Кошта", "Кошта"],
    "Zelensky": ["Зеленский"],
    "Trump": ["Трамп"],
    "Takaichi": ["Такаити"],
    "Iwaya": ["Ивая"],
    "Meloni": ["Джорджа Мелони", "Мелони"],
    "Kagame": ["Поль Кагаме", "Кагаме"],
    "Tô Lâm": ["То Лам"],
    "Berdimuhamedov": ["Сердар Бердымухамедов", "Бердымухамедов", "Бердімұхамедов"],
    "Washington": ["Вашингтон"],
    "White House": ["Белый дом", "Ақ үй"],
    "Tianjin": ["Тяньцзинь"],
    "Astana": ["Астана"],
    "Akorda": ["Акорда", "Ақорда"],
    "Moscow": ["Москва", "Мәскеу"],
    "New York": ["Нью-Йорк"],
    "Tokyo": ["Токио"],
    "Bishkek": ["Бишкек"],
    "Dushanbe": ["Душанбе"],
    "Tashkent": ["Ташкент"],
    "Minsk": ["Минск"],
    "St Petersburg": ["Санкт-Петербург"],
    "Beijing": ["Пекин", "Бейжің"],
    "Samarkand": ["Самарканд", "Самарқанд"],
    "Brussels": ["Брюссель"],
    "Gabala": ["Габала", "Қабала"],
    "Ashgabat": ["Ашхабад", "Ашғабат"],
    "Khankendi": ["Ханкенди"],
    "Sharm el-Sheikh": ["Шарм-эль-Шейх"],
    "Ulken": ["Улькен", "Үлкен", "Ülken"],
    "Alaska": ["Аляска"],
    "Almaty": ["Алматы"],
    "Putin": ["Путин"],
    "Mirziyoyev": ["Мирзиёев"],
    "Japarov": ["Жапаров"],
    "Orbán": ["Орбан"],
    "Budapest": ["Будапешт"],
    "Mattarella": ["Маттарелла"],
    "Pezeshkian": ["Пезешкиан"],
    "Awaza": ["Аваза"],
    "Novorossiysk": ["Новороссийск"],
    "Cholpon-Ata": ["Чолпон-Ата"],
    "Katpar": ["Северный Катпар", "Солтүстік Қатпар"],
    "Tau-Ken Samruk": ["Тау-Кен Самрук", "Тау-Кен Самұрық"],
    "Aktau": ["Актау", "Ақтау", "Aqtau"],
    "Dostyk": ["Достык", "Достық"],
    "Moiynty": ["Мойынты"],
}

# A record's own names by slug or country code.
RECORDS: dict[str, list[str]] = {
    "RU": ["Россия"],
    "US": ["США"],
    "EU": ["Европейский союз", "ЕС", "Еуропалық одақ", "ЕО"],
    "csto": [
        "ОДКБ",
        "Организация Договора о коллективной безопасности",
        "ҰҚШҰ",
        "Ұжымдық қауіпсіздік туралы шарт ұйымы",
    ],
    "sco": ["ШОС", "Шанхайская организация сотрудничества", "ШЫҰ", "Шанхай ынтымақтастық ұйымы"],
    "rosatom": ["Росатом", "Госкорпорация «Росатом»"],
    "us-exim": ["Экспортно-импортный банк США"],
    "european-council": ["Европейский совет", "Еуропалық кеңес"],
    "tau-ken-samruk": ["Тау-Кен Самрук", "Тау-Кен Самұрық"],
    "samruk-kazyna": ["Самрук-Казына", "Самұрық-Қазына"],
    "kazakhstan-temir-zholy": ["Қазақстан темір жолы", "Казахстан темир жолы", "КТЖ", "ҚТЖ"],
    "kazavtozhol": ["ҚазАвтоЖол", "КазАвтоЖол"],
    "air-astana": ["Эйр Астана"],
    "boeing": ["Боинг"],
    "cnnc": ["Китайская национальная ядерная корпорация"],
    "european-commission": ["Европейская комиссия", "Еврокомиссия", "Еуропалық комиссия"],
    "eib": ["Европейский инвестиционный банк", "ЕИБ", "Еуропалық инвестициялық банк"],
    "ebrd": [
        "Европейский банк реконструкции и развития",
        "ЕБРР",
        "Еуропа қайта құру және даму банкі",
        "ЕҚДБ",
    ],
    "organization-of-turkic-states": [
        "Организация тюркских государств",
        "ОТГ",
        "Түркі мемлекеттері ұйымы",
        "ТМҰ",
    ],
    "cis": ["Содружество Независимых Государств", "СНГ", "Тәуелсіз Мемлекеттер Достастығы", "ТМД"],
    "eaeu": [
        "Евразийский экономический союз",
        "ЕАЭС",
        "Еуразиялық экономикалық одақ",
        "ЕАЭО",
        "Высший Евразийский экономический совет",
    ],
    "lianyungang-port": ["порт Ляньюньган", "Ляньюньган"],
    "north-katpal": ["Северный Катпар", "Солтүстік Қатпар"],
    "kz-first-nuclear-power-plant": ["первая АЭС Казахстана", "Улькен", "Үлкен", "Ülken"],
    "kz-second-nuclear-power-plant": ["вторая АЭС Казахстана"],
    "kz-third-nuclear-power-plant": ["третья АЭС Казахстана"],
    "trans-caspian-international-transport-route": [
        "Транскаспийский международный транспортный маршрут",
        "ТМТМ",
    ],
    "alatau-smart-city": ["Алатау"],
}


def new_names(record: dict[str, Any], section: str) -> list[str]:
    """The names ``record`` should also answer to and does not yet."""
    names = list(RECORDS.get(record.get("slug") or record.get("code") or "", []))
    if section in MENTIONING:
        text = " ".join(str(record.get(f) or "") for f in ("title", "name", "location"))
        for english, local in NAMED.items():
            if re.search(rf"(?<!Air )\b{re.escape(english)}\b(?! region)", text):
                names += local
    have = set(record.get("aliases") or [])
    return [n for n in dict.fromkeys(names) if n not in have]


def _flow(names: list[str]) -> str:
    """A one-line YAML list; a name that is not plain ASCII words is double-quoted."""
    plain = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .'()-]*")
    return (
        "["
        + ", ".join(
            n
            if plain.fullmatch(n) and yaml.safe_load(n) == n
            else '"' + n.replace('"', '\\"') + '"'
            for n in names
        )
        + "]"
    )


def update(path: Path, write: bool = True) -> int:
    """Add the missing names to ``path``; returns how many it added."""
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        return 0
    lines = text.splitlines(keepends=True)
    added = 0
    for section in SECTIONS:
        records = {str(r.get("slug") or r.get("code")): r for r in data.get(section) or []}
        for key, (start, end) in sorted(
            record_blocks(lines, section).items(), key=lambda kv: -kv[1][0]
        ):
            record = records[key]
            names = new_names(record, section)
            if not names:
                continue
            line = f"    aliases: {_flow([*(record.get('aliases') or []), *names])}\n"
            # A new aliases line goes right under "- slug:" (a title may span lines).
            block = lines[start:end]
            lines[start:end] = set_line(block, block[0].rstrip("\n"), r"^    aliases:", line)
            added += len(names)
    new = "".join(lines)
    if write and new != text:
        path.write_text(new, encoding="utf-8")
    return added


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file would change"
    )
    args = parser.parse_args()
    changed: dict[str, int] = {}
    for path in sorted(SEEDS.glob("*.yaml")):
        added = update(path, write=not args.check)
        if added:
            changed[path.name] = added
    verb = "would add" if args.check else "added"
    print(f"{verb}: " + (", ".join(f"{n} in {f}" for f, n in changed.items()) or "nothing"))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
