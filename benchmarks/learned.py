"""What per-site learned boilerplate removes that no page-level extractor can.

Some boilerplate reads like prose and sits inside the article's own container: the reporter's
sign-off, a newsletter pitch written as a sentence, a "Topics:" line, a podcast promo, a
correction policy. No extractor can tell it from the story on one page; across a site's pages
it is the text that repeats. This script builds ``--sites`` sites (English, German, French and
Spanish, in turn) of ``--articles`` article pages each, deterministically from ``--seed``: every
page has a unique body of 5-9 paragraphs (with a list on some) and 4 to 6 of its site's 8 prose
boilerplate lines, placed inside the article body. Then, site by site, in publication order:

- ``extract`` only: our extractor, page by page;
- learned: what the archive does. After each article is stored, the site's lines are learned
  again from its latest 200 stored texts (``aggregator.boilerplate.learn``, as
  ``Store.learn_boilerplate``), and every stored text is cleaned of what is known so far
  (``strip``, as the store's re-cleaning does), so early articles are cleaned in hindsight;
- learned, new articles only: the same, but a text is cleaned only with what was known when it
  arrived (what ``aggregator reextract`` would still fix for the first ones).

It prints, for each: leaked (% of the planted boilerplate lines found in the stored texts),
kept (% of the body's 4-token shingles kept), and the pages a site needs before its lines are
learned. No network, no database: the same functions the store and pipeline call.

    .venv/bin/python benchmarks/learned.py [--sites 12] [--articles 40] [--seed 3]
"""

from __future__ import annotations

import argparse
import html
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from aggregator import boilerplate  # noqa: E402
from aggregator.extract import extract  # noqa: E402

_WORD = re.compile(r"\w+")
SHINGLE = 4

#: Per language: words for bodies, and templates of prose boilerplate ({site}, {name}, {topic}).
LANGUAGES: dict[str, tuple[str, list[str]]] = {
    "en": (
        (
            "the council said water prices would rise after a long dry summer and farmers in "
            "the valley asked for help while engineers surveyed the old bridge near the "
            "station as teachers and nurses met the mayor to discuss budgets schools and "
            "hospitals"
        ),
        [
            "{name} covers {topic} for {site}. Send tips and documents to the newsroom.",
            "Get the {site} morning briefing in your inbox every weekday before breakfast.",
            "Topics: {topic}, local politics, environment",
            "Listen to our podcast on {topic} wherever you get your podcasts.",
            "{site} corrects errors promptly. Read our corrections policy to learn more.",
            "This story was produced with support from readers like you. Become a member today.",
            "Have a question about {topic}? Our reporters answer readers every Friday.",
            "Photo by {name} for {site}.",
        ],
    ),
    "de": (
        (
            "der stadtrat teilte mit dass die wasserpreise nach einem langen trockenen sommer "
            "steigen und die bauern im tal baten um hilfe während ingenieure die alte brücke "
            "am bahnhof prüften als lehrer und pfleger den bürgermeister trafen"
        ),
        [
            "{name} berichtet für {site} über {topic}. Hinweise gerne an die Redaktion.",
            "Das {site} Morgenbriefing jeden Morgen in Ihrem Postfach, kostenlos.",
            "Themen: {topic}, Landespolitik, Umwelt",
            "Hören Sie unseren Podcast zu {topic} überall, wo es Podcasts gibt.",
            "{site} korrigiert Fehler umgehend. Mehr dazu in unseren Korrekturrichtlinien.",
            "Dieser Beitrag wurde von Leserinnen und Lesern ermöglicht. Jetzt unterstützen.",
            "Sie haben eine Frage zu {topic}? Unsere Redaktion antwortet jeden Freitag.",
            "Foto: {name} für {site}.",
        ],
    ),
    "fr": (
        (
            "le conseil municipal a annoncé que le prix de l'eau augmenterait après un long "
            "été sec et les agriculteurs de la vallée ont demandé de l'aide tandis que des "
            "ingénieurs inspectaient le vieux pont près de la gare"
        ),
        [
            "{name} couvre {topic} pour {site}. Envoyez vos informations à la rédaction.",
            "Recevez la lettre matinale de {site} chaque matin dans votre boîte de réception.",
            "Thèmes : {topic}, politique locale, environnement",
            "Écoutez notre podcast sur {topic} sur toutes les plateformes.",
            "{site} corrige rapidement ses erreurs. Consultez notre politique de correction.",
            "Cet article a été financé par nos lecteurs. Devenez membre dès aujourd'hui.",
            "Une question sur {topic} ? Nos journalistes répondent chaque vendredi.",
            "Photo : {name} pour {site}.",
        ],
    ),
    "es": (
        (
            "el ayuntamiento anunció que el precio del agua subirá tras un largo verano seco "
            "y los agricultores del valle pidieron ayuda mientras los ingenieros revisaban el "
            "viejo puente junto a la estación"
        ),
        [
            "{name} cubre {topic} para {site}. Envíe sus pistas a la redacción.",
            "Reciba el boletín matinal de {site} en su correo cada mañana, gratis.",
            "Temas: {topic}, política local, medio ambiente",
            "Escuche nuestro pódcast sobre {topic} en su plataforma favorita.",
            "{site} corrige sus errores con rapidez. Lea nuestra política de correcciones.",
            "Esta noticia se hizo gracias al apoyo de nuestros lectores. Hágase socio hoy.",
            "¿Tiene una pregunta sobre {topic}? Nuestros periodistas responden cada viernes.",
            "Foto: {name} para {site}.",
        ],
    ),
}
NAMES = ["Ana Ruiz", "Jonas Weber", "Claire Martin", "Sam Okafor", "Lena Vogel", "Paul Girard"]
TOPICS = ["housing", "transport", "energy", "schools", "health", "farming"]


@dataclass(frozen=True)
class Page:
    site: str
    html: str
    body: list[str]
    planted: list[str]


def sentence(rng: random.Random, words: list[str]) -> str:
    picked = [rng.choice(words) for _ in range(rng.randint(12, 28))]
    return " ".join(picked).capitalize() + "."


def build_site(number: int, articles: int, rng: random.Random) -> list[Page]:
    lang = list(LANGUAGES)[number % len(LANGUAGES)]
    text, templates = LANGUAGES[lang]
    words = text.split()
    site = f"site{number}.example"
    name, topic = rng.choice(NAMES), rng.choice(TOPICS)
    lines = [t.format(site=f"The {site.split('.')[0].title()} Post", name=name, topic=topic)
             for t in templates]  # fmt: skip
    pages = []
    for n in range(articles):
        body = [" ".join(sentence(rng, words) for _ in range(rng.randint(2, 5)))
                for _ in range(rng.randint(5, 9))]  # fmt: skip
        items = [sentence(rng, words) for _ in range(3)] if n % 3 == 0 else []
        planted = rng.sample(lines, rng.randint(4, 6))
        top, bottom = planted[:1], planted[1:]
        parts = [f"<p>{html.escape(p)}</p>" for p in top + body]
        if items:
            parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")
        parts += [f"<p>{html.escape(p)}</p>" for p in bottom]
        page = f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>Story {n} - {site}</title></head><body>
<nav><a href="/">Home</a> <a href="/local">Local</a> <a href="/about">About</a></nav>
<main><article><h1>{html.escape(sentence(rng, words)[:60])}</h1>
<div class="story-body">{"".join(parts)}</div></article></main>
<footer><p>{html.escape(site)}</p></footer></body></html>"""
        pages.append(Page(site, page, body + items, planted))
    return pages


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _WORD.findall(text.casefold())
    if len(tokens) < SHINGLE:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


def normal(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


@dataclass
class Score:
    planted: int = 0
    leaked: int = 0
    body: int = 0
    kept: int = 0

    def add(self, page: Page, text: str) -> None:
        found = normal(text)
        self.planted += len(page.planted)
        self.leaked += sum(normal(line) in found for line in page.planted)
        have = shingles(text)
        for piece in page.body:
            want = shingles(piece)
            self.body += sum(want.values())
            self.kept += sum(min(c, have[s]) for s, c in want.items())

    def row(self, label: str) -> str:
        leaked = 100 * self.leaked / max(1, self.planted)
        kept = 100 * self.kept / max(1, self.body)
        return f"{label:<34} {leaked:>9.2f} {kept:>9.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    plain, hindsight, arrival = Score(), Score(), Score()
    needed: list[int] = []
    learn_ms: list[float] = []
    for number in range(args.sites):
        pages = build_site(number, args.articles, rng)
        texts = [
            extract(page.html, f"https://{page.site}/{i}").text for i, page in enumerate(pages)
        ]
        stored: list[str] = []
        keys: set[str] = set()
        at_arrival: list[str] = []
        first_learned = None
        for i, text in enumerate(texts):
            cleaned, _ = boilerplate.strip(text, keys)
            at_arrival.append(cleaned)
            stored.append(cleaned)
            started = time.perf_counter()
            fresh = {line.key for line in boilerplate.learn(stored[-boilerplate.SAMPLE :])}
            learn_ms.append(1000 * (time.perf_counter() - started))
            if fresh - keys:
                keys |= fresh
                stored = [boilerplate.strip(t, keys)[0] for t in stored]
                if first_learned is None:
                    first_learned = i + 1
        needed.append(first_learned or 0)
        for page, text, now, then in zip(pages, texts, stored, at_arrival, strict=True):
            plain.add(page, text)
            hindsight.add(page, now)
            arrival.add(page, then)

    pages_total = args.sites * args.articles
    print(f"{args.sites} sites x {args.articles} articles = {pages_total} pages, seed {args.seed}")
    print(f"{'':<34} {'leaked %':>9} {'kept %':>9}")
    print(plain.row("extract only"))
    print(hindsight.row("learned (archive re-cleaned)"))
    print(arrival.row("learned (new articles only)"))
    print(
        f"articles a site needs before its first lines are learned: median "
        f"{statistics.median(needed):g}, max {max(needed)}"
    )
    print(f"learning from a site's latest texts: median {statistics.median(learn_ms):.2f} ms")


if __name__ == "__main__":
    main()
