"""Tests of aggregator.extract: golden pages, comment threads, the reconciliation of our DOM
scoring with trafilatura, the line filter, feed content, errors, metadata, aeb's floor."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from aggregator.errors import ExtractError
from aggregator.extract import (
    _line_filter,
    _pruning,
    _reconcile,
    clean_feed_html,
    extract,
    is_boilerplate_line,
    plain_text,
)
from aggregator.extract._dom_score import main_content
from aggregator.extract._render import Block, blocks
from tests.server import TestServer

PAGES_DIR = Path(__file__).parent / "data" / "pages"
PAGES = sorted(PAGES_DIR.glob("*.html"))
AEB_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "aeb"
#: The aeb score floor: it may only rise (it started at plain trafilatura's, comments off, and
#: rose with the DOM scoring reconciled with trafilatura's blocks).
AEB_F1_FLOOR = json.loads((Path(__file__).parent / "data" / "extract_floor.json").read_text())[
    "aeb_f1"
]


def expected_for(page: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.with_name(f"{page.stem}.expected.json").read_text())
    return data


def html_page(body: str, head: str = "", html_attrs: str = ' lang="en"') -> str:
    return f"<!DOCTYPE html><html{html_attrs}><head>{head}</head><body>{body}</body></html>"


ARTICLE = (
    "<article><h1>Harbour ferry returns after repairs</h1>"
    "<p>The harbour ferry is back in service after three months in dry dock, the port "
    "authority said on Monday, with a new engine and a ramp for bicycles.</p>"
    "<p>Commuters had relied on a replacement bus that took twice as long, and the authority "
    "apologised for repeated delays to the repair schedule over the summer.</p>"
    "<p>Tickets and timetables are unchanged, and the first crossing leaves at six.</p>"
    "</article>"
)


# --- golden pages ----------------------------------------------------------------------------


def test_there_are_enough_golden_pages() -> None:
    assert len(PAGES) >= 5
    for page in PAGES:
        assert page.with_name(f"{page.stem}.expected.json").exists(), page.name


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_keeps_article_and_drops_boilerplate(page: Path) -> None:
    expected = expected_for(page)
    text = extract(page.read_bytes(), url=expected["url"]).text

    missing = [snippet for snippet in expected["must"] if snippet not in text]
    leaked = [snippet for snippet in expected["must_not"] if snippet in text]
    assert not missing, f"article text lost:\n{text}"
    assert not leaked, f"boilerplate kept:\n{text}"
    if expected.get("in_order"):
        positions = [text.index(snippet) for snippet in expected["must"]]
        assert positions == sorted(positions), f"blocks out of order:\n{text}"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_metadata(page: Path) -> None:
    expected = expected_for(page)
    result = extract(page.read_bytes(), url=expected["url"])
    for field, value in expected.get("metadata", {}).items():
        got = getattr(result, field)
        if field == "published":
            got = got.isoformat() if got else None
        assert got == value, field


def test_metadata_the_caller_already_knows_is_not_looked_for() -> None:
    page = next(p for p in PAGES if expected_for(p).get("metadata", {}).get("published"))
    url = expected_for(page)["url"]
    full = extract(page.read_bytes(), url=url)
    assert full.published is not None
    assert full.title
    lean = extract(page.read_bytes(), url=url, known={"title", "author", "published"})
    assert (lean.title, lean.author, lean.published) == (None, None, None)
    assert (lean.text, lean.lang, lean.canonical_url) == (full.text, full.lang, full.canonical_url)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_text_is_paragraphs_separated_by_blank_lines(page: Path) -> None:
    text = extract(page.read_bytes(), url=expected_for(page)["url"]).text
    paragraphs = text.split("\n\n")
    assert len(paragraphs) >= 4
    assert all(p.strip() == p and p for p in paragraphs)


def test_structured_blocks_keep_their_shape() -> None:
    page = PAGES_DIR / "structured_content.html"
    text = extract(page.read_bytes()).text
    assert (
        "- Logs land in the journal with the unit name, instead of being mailed to root.\n"
        "- A failed run shows up in systemctl list-units --failed.\n"
    ) in text
    assert "Setup | Median run | Missed runs\ncron | 41 min | 3\nsystemd timer | 40 min | 0" in text
    # code keeps its own line breaks and blank lines
    assert "[Unit]\nDescription=Nightly export\n\n[Timer]\nOnCalendar=*-*-* 02:30:00\n" in text


def test_extraction_does_not_depend_on_earlier_calls() -> None:
    """trafilatura's deduplication cache stays off: the same page gives the same text."""
    page = (PAGES_DIR / "news_copyright.html").read_bytes()
    first = extract(page)
    assert extract(page) == first
    assert extract(page) == first


def test_url_is_never_fetched(server: TestServer) -> None:
    """The page URL feeds metadata only; the server sees no request."""
    url = server.url("/article")
    result = extract(html_page(ARTICLE), url=url)
    assert "harbour ferry is back in service" in result.text
    assert server.requests == []


# --- comment threads found by their structure -------------------------------------------------

BLOG_POST = (
    "<h1>Le compost en appartement, mode d'emploi</h1>"
    "<p>Un lombricomposteur tient sous un évier et transforme les épluchures en un terreau "
    "noir et fin en quelques mois, sans odeur si on le nourrit avec modération.</p>"
    "<p>Il faut compter environ deux cents vers pour commencer, que l'on trouve chez les "
    "jardiniers du quartier ou auprès de la déchetterie municipale.</p>"
    "<p>Les agrumes, l'ail et les oignons sont à éviter, car ils acidifient le bac.</p>"
)


def plain_comments(texts: list[str], reply: str = "Répondre") -> str:
    """Comments as a theme without telling class names writes them."""
    items = "".join(
        f"<li class='k{i}'><div><b>Lecteur {i}</b> <span>3 mars 2024</span></div>"
        f"<div><p>{text}</p></div><a href='#c{i}'>{reply}</a></li>"
        for i, text in enumerate(texts)
    )
    return f"<div><h3>{len(texts)} réflexions sur cet article</h3><ol>{items}</ol></div>"


COMMENTS = [
    "Merci pour ces conseils, je vais essayer dès ce week-end.",
    "Chez moi les moucherons ont été un vrai problème au début.",
    "Où trouvez-vous des vers à Lyon ?",
]


def test_comments_inside_the_article_are_found_by_their_shape() -> None:
    thread = plain_comments(COMMENTS * 2)
    html = html_page(f"<article><div>{BLOG_POST}</div>{thread}</article>", "", ' lang="fr"')
    text = extract(html).text
    assert "Un lombricomposteur tient sous un évier" in text
    assert "Les agrumes, l'ail et les oignons sont à éviter" in text
    for leak in ("Merci pour ces conseils", "moucherons", "Lecteur", "Répondre", "réflexions"):
        assert leak not in text


def test_feed_content_loses_a_comment_thread_too() -> None:
    text = clean_feed_html(BLOG_POST + plain_comments(COMMENTS, reply="Reply"))
    assert "Un lombricomposteur" in text
    assert "moucherons" not in text
    assert "Reply" not in text


def test_a_forum_thread_keeps_its_opening_post() -> None:
    page = PAGES_DIR / "forum_thread.html"
    text = extract(page.read_bytes()).text
    assert text.startswith("Vor einem Jahr habe ich zwei Module")
    assert "Danke für den Bericht" not in text
    assert "Heike_R" not in text


LOOK_ALIKES = {
    # Two comments are not enough to call a run a thread.
    "two-comments": plain_comments(COMMENTS[:2]),
    # Related articles: same shape, but no reply links.
    "related-list": "<ul>"
    + "".join(f"<li><a href='/{i}'>{text}</a></li>" for i, text in enumerate(COMMENTS))
    + "</ul>",
    # A "Reply" link in one of several same-shaped blocks is not a thread.
    "one-reply-link": "".join(
        f"<div><p>{text}</p><a href='#'>{'Reply' if i == 0 else 'Details'}</a></div>"
        for i, text in enumerate(COMMENTS * 2)
    ),
}


@pytest.mark.parametrize("extra", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alikes_are_not_threads(extra: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a thread, the blocks reach trafilatura untouched (what it keeps is its call)."""
    html = html_page(f"<article>{BLOG_POST}{extra}</article>", "", ' lang="fr"')
    text = extract(html).text
    monkeypatch.setattr(_pruning, "_prune_threads", lambda tree: None)
    assert text == extract(html).text


def test_the_block_with_most_of_the_text_is_never_a_thread() -> None:
    """Same-shaped sections with reply links that hold the article itself stay."""
    sections = "".join(
        f"<div><h2>Étape {i}</h2><p>{text} {BLOG_POST[60:300]}</p><a href='#'>Répondre</a></div>"
        for i, text in enumerate(COMMENTS)
    )
    text = extract(html_page(f"<article><h1>Compost</h1>{sections}</article>")).text
    assert all(comment in text for comment in COMMENTS)


# --- the second opinion: our DOM scoring reconciled with trafilatura -------------------------

FERRY = [
    "The harbour ferry is back in service after three months in dry dock, the port authority "
    "said on Monday, with a new engine and a ramp for bicycles.",
    "Commuters had relied on a replacement bus that took twice as long, and the authority "
    "apologised for repeated delays to the repair schedule over the summer.",
    "The new engine burns a third less fuel, according to the shipyard, and should keep the "
    "ferry running for another twenty years.",
    "Tickets and timetables are unchanged, and the first crossing still leaves at six in the "
    "morning from the north quay.",
    "Cyclists will be able to board first, and the ramp can carry up to twelve bicycles at a "
    "time, the operator said.",
    "The authority plans to repaint the waiting room on the north quay next spring, once the "
    "winter storms are over.",
]
AD = "<div class='ad-slot'><span>Advertisement</span></div>"


def test_sections_trafilatura_misses_come_back_in_order() -> None:
    """An article cut into sections by ads: trafilatura's fast pass keeps the first section
    only; the sections held like it are added back where they stand."""
    section = "<div class='article-body__section'>{}</div>"
    body = AD.join(
        (
            section.format(f"<p>{FERRY[0]}</p><p>{FERRY[1]}</p>"),
            section.format(f"<h2>A greener engine</h2><p>{FERRY[2]}</p><p>{FERRY[3]}</p>"),
            section.format(f"<p>{FERRY[4]}</p><p>{FERRY[5]}</p>"),
        )
    )
    result = extract(html_page(f"<main><article><h1>Ferry back</h1>{body}</article></main>"))
    assert result.text.split("\n\n") == [*FERRY[:2], "A greener engine", *FERRY[2:]]
    assert result.method == "trafilatura+dom"


def test_a_link_list_only_trafilatura_keeps_is_dropped() -> None:
    """Teaser links after the article: trafilatura keeps the first, the reconciliation drops
    every block that is all links; a sentence with links in it stays."""
    titles = (
        "Night trains return to the central station",
        "New swimming pool opens in the old harbour",
        "Why rents in the old town keep rising",
    )
    teasers = "".join(f"<p><a href='/t{i}'>{title}</a></p>" for i, title in enumerate(titles))
    linked = (
        "<p>The plan is set out in <a href='/r'>the council's full report</a> and in "
        "<a href='/m'>the minutes of Tuesday's meeting</a>.</p>"
    )
    paragraphs = "".join(f"<p>{text}</p>" for text in FERRY[:4])
    page = html_page(f"<article><h1>Ferry back</h1>{paragraphs}{linked}{teasers}</article>")
    result = extract(page)
    assert result.text.split("\n\n")[-1] == (
        "The plan is set out in the council's full report and in the minutes of Tuesday's meeting."
    )
    assert not any(title in result.text for title in titles)
    assert result.method == "trafilatura+dom"


def test_method_is_trafilatura_when_it_needs_no_second_opinion() -> None:
    assert extract(html_page(ARTICLE)).method == "trafilatura"


def test_our_candidate_is_the_text_when_trafilatura_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("trafilatura.bare_extraction", lambda *args, **kwargs: None)
    result = extract(html_page(f"<nav><a href='/'>Home</a></nav>{ARTICLE}"))
    assert result.text.startswith("The harbour ferry is back in service")
    assert "Tickets and timetables are unchanged" in result.text
    assert "Home" not in result.text
    assert result.method == "dom"


def page_blocks(body: str) -> tuple[list[Block], list[Any]]:
    """The blocks of a page and the roots of its main content, as ``extract`` finds them."""
    tree = lxml.html.document_fromstring(html_page(body))
    page = blocks(tree.body)
    return page, main_content(page)


def chosen_blocks(fragment: str) -> list[Block]:
    """Blocks as trafilatura would hand them over: its output tree, rendered."""
    return blocks(lxml.html.fragment_fromstring(fragment, create_parent="div"))


def test_reconcile_adds_what_trafilatura_missed_in_document_order() -> None:
    """Lists, quotes, tables and code inside the candidate come back where they stand."""
    article = (
        f"<article><h1>Ferry back</h1><p>{FERRY[0]}</p>"
        "<ul><li>A new engine</li><li>A ramp for bicycles</li></ul>"
        f"<blockquote><p>{FERRY[1]}</p></blockquote><p>{FERRY[2]}</p>"
        "<table><tr><th>Month</th><th>Crossings</th></tr><tr><td>June</td><td>412</td></tr>"
        "</table><pre>ferry --status north-quay</pre><p>{}</p></article>"
    ).format(FERRY[3])
    page, main = page_blocks(f"<nav><a href='/'>Home</a></nav>{article}")
    chosen = chosen_blocks(f"<p>{FERRY[0]}</p><p>{FERRY[2]}</p><p>{FERRY[3]}</p>")
    result = _reconcile.reconcile(page, main, chosen)
    assert [block.text for block in result.blocks] == [
        FERRY[0],
        "- A new engine\n- A ramp for bicycles",
        FERRY[1],
        FERRY[2],
        "Month | Crossings\nJune | 412",
        "ferry --status north-quay",
        FERRY[3],
    ]
    assert (result.added, result.dropped) == (4, 0)


def test_reconcile_drops_boilerplate_outside_the_candidate_only() -> None:
    paragraphs = "".join(f"<p>{text}</p>" for text in FERRY[:4])
    sidebar = "<div class='widget'><p>Port Gazette newsroom</p></div>"
    page, main = page_blocks(f"<article><p>Short label</p>{paragraphs}</article>{sidebar}")
    chosen = chosen_blocks(f"<p>Short label</p>{paragraphs}<p>Port Gazette newsroom</p>")
    result = _reconcile.reconcile(page, main, chosen)
    assert [block.text for block in result.blocks] == ["Short label", *FERRY[:4]]
    assert (result.added, result.dropped) == (0, 1)


def test_reconcile_adds_no_captions_bylines_or_copies() -> None:
    paragraphs = "".join(f"<p>{text}</p>" for text in FERRY[:3])
    article = (
        f"<article><p class='byline'>By Mira Holt, harbour correspondent, on Monday.</p>"
        f"{paragraphs}<figure><img src='f.jpg'><figcaption>The ferry leaves the dry dock on "
        f"Monday morning.</figcaption></figure><p>{FERRY[3]}</p><div>{FERRY[1]}</div></article>"
    )
    page, main = page_blocks(article)
    chosen = chosen_blocks(f"{paragraphs}<p>{FERRY[3]}</p>")
    result = _reconcile.reconcile(page, main, chosen)
    assert [block.text for block in result.blocks] == FERRY[:4]
    assert result.added == 0


# --- the line filter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "© Copyright 2018. All rights reserved.",
        "Copyright © 2021 Example Media Group",
        "(c) 2019 Example Inc.",
        "Riverside Ledger 2018 \u2013 All rights reserved.",
        "© Nordstadt Kurier 2024 \u2013 Alle Rechte vorbehalten",
        "© 2022 Carnets du Jardin. Tous droits réservés.",
        "Todos los derechos reservados.",
        "Advertisement",
        "ADVERTISEMENT",
        "- Advertisement -",
        "Story continues below advertisement",
        "Anzeige",
        "Publicité",
        "Publicidad",
        "Read more: Tram extension delayed again as costs climb",
        "READ MORE: China plague outbreak confirmed",
        "Related: The 15 Weirdest Galaxies in Our Universe",
        "Lesen Sie auch: Parkgebühren steigen ab Juli",
        "Lire aussi : Les jardins sur les toits gagnent du terrain",
        "Leer más: El Gobierno aprueba el presupuesto",
        "Continue reading →",
        "The post Ten lessons from a decade of SRE appeared first on Ops Weekly.",
        "Related posts",
        "You may also like",
        "Leave a Reply",
        "Leave a Reply Cancel reply",
        "Your email address will not be published. Required fields are marked *",
        "Required fields are marked *",
        "Save my name, email, and website in this browser for the next time I comment.",
        "3 thoughts on “Why I Switched My Sourdough to a Cold Retard”",
        "12 Comments",
        "Write a response",
        "What are your thoughts?",
        "Schreiben Sie einen Kommentar",
        "Ihre E-Mail-Adresse wird nicht veröffentlicht. Erforderliche Felder sind mit * markiert.",
        "Laisser un commentaire",
        "Votre adresse e-mail ne sera pas publiée.",
        "Deja una respuesta",
        "Tu dirección de correo electrónico no será publicada.",
        "Share this:",
        "Share on Facebook",
        "Share on Facebook Share on Twitter Email this article",
        "Share this article",
        "Teilen auf Facebook",
        "Per E-Mail teilen",
        "Partager sur Twitter",
        "Compartir en WhatsApp",
        "Facebook | Twitter | LinkedIn",
        "Follow us on Instagram",
        "Subscribe to our newsletter",
        "Sign up for our daily newsletter",
        "Get the best stories delivered to your inbox every week.",
        "You can unsubscribe at any time.",
        "Jetzt Newsletter abonnieren und nichts mehr verpassen!",
        "Abonnez-vous à notre newsletter pour recevoir nos conseils de saison.",
        "Suscríbete a nuestro boletín",
        "We use cookies to improve your experience on our site.",
        "This website uses cookies. By continuing to browse you agree to our use of cookies.",
        "Accept all cookies",
        "Diese Website verwendet Cookies.",
        "Ce site utilise des cookies pour améliorer votre expérience.",
        "Este sitio web utiliza cookies propias y de terceros.",
        "You must log in or register to reply here.",
        "Sie müssen sich anmelden oder registrieren, um hier zu antworten.",
        "Vous devez vous connecter ou vous inscrire pour répondre ici.",
        "Debes iniciar sesión o registrarte para responder aquí.",
        "Thanks for reading! If you enjoyed this article, share it with a friend.",
        "Danke fürs Lesen! Wenn Ihnen dieser Artikel gefallen hat, teilen Sie ihn.",
        "Merci de votre lecture ! Si cet article vous a plu, partagez-le.",
        "¡Gracias por leer! Si te ha gustado este artículo, compártelo.",
        "Want more stories like this? Sign up for our free newsletter.",
        "Sie wollen mehr davon? Abonnieren Sie unseren kostenlosen Newsletter.",
        "Vous en voulez plus ? Inscrivez-vous à notre newsletter gratuite.",
        "¿Quieres más historias como esta? Suscríbete a nuestro boletín gratuito.",
        "Die wichtigsten Nachrichten jeden Morgen in Ihrem Postfach.",
        "Recevez chaque matin l'essentiel de l'actualité dans votre boîte mail.",
        "Recibe cada mañana las noticias más importantes en tu correo.",
        "Entradas relacionadas",
        "¿Te ha gustado esta receta?",
        "Hat Ihnen dieser Artikel gefallen?",
    ],
)
def test_boilerplate_lines_are_recognised(line: str) -> None:
    assert is_boilerplate_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Copyright law is complicated.",
        "Copyright law in the European Union was overhauled in 2019, when the directive on "
        "copyright in the digital single market was adopted after years of lobbying.",
        "(c) the committee shall publish its findings within thirty days.",
        "The band said all rights reserved by the label had lapsed in 2015.",
        "Readers who subscribe to the print edition also get the archive, the publisher said.",
        "Subscribers complained that the app kept logging them out.",
        "If you subscribe to the idea that markets correct themselves, the last year was a test.",
        "Sign up for the Disney+ bundle using the same email as your Hulu account.",
        "Share prices fell 3% on Monday after the results.",
        "Sharing a kitchen with five strangers taught me patience.",
        "Advertising revenue fell by a fifth last year.",
        "Read more books, the doctor advised, and spend less time on screens.",
        "Related research suggests that sleep matters more than diet.",
        "More from the hearing: the senator asked about the budget twice.",
        "Cookies were first used by Netscape in 1994 to remember shopping carts.",
        "Leave a light on, she said, because the power cuts come at night.",
        "Twitter was renamed X in 2023, and many advertisers left the platform soon after.",
        "Die Stadt will bis Ende 2026 insgesamt vierzehn Lücken im Radwegenetz schließen.",
        "Sie müssen sich anmelden, um einen Termin beim Bürgeramt zu bekommen.",
        "In our newsletter last week we looked at the tram plan in detail.",
        "Writers who launch a newsletter can ask readers to subscribe for five dollars a month.",
        "Phishing emails land in your inbox every day, disguised as invoices.",
        "Thanks to the readers who wrote in, the council changed its plan.",
        "Shares of the tram operator rose by four percent after the vote.",
        "Anzeige gegen den Stadtrat hat bislang niemand erstattet.",
        "Did you like the film? The critics did not.",
        "Ce film vous a plu, à en croire les critiques.",
        "",
    ],
)
def test_real_sentences_survive(line: str) -> None:
    assert not is_boilerplate_line(line)


def test_long_lines_are_never_boilerplate() -> None:
    long_notice = "Your email address will not be published. " + "word " * 60
    assert not is_boilerplate_line(long_notice)


@pytest.mark.parametrize(
    "opening",
    [
        "Advertisement",
        "Leave a Reply",
        "Abonnez-vous",
        "We use cookies",
        "Read more: ",
        "© 2024",
        "Subscribe to our newsletter",
        "Share this article",
        "Related posts",
    ],
)
def test_each_rule_applies_up_to_its_own_length(opening: str) -> None:
    """The rules are tried together, grouped by length limit: a line is boilerplate exactly
    when one rule whose limit it does not exceed matches it, one rule at a time."""
    for length in range(len(opening), 420):
        line = (opening + " plus quelques mots de plus" * 20)[:length]
        text = " ".join(line.split()).strip(_line_filter._DECORATION).lower()
        one_at_a_time = any(
            len(text) <= limit and re.match(pattern, text)
            for limit, pattern in _line_filter._BOILERPLATE_RULES
        )
        assert is_boilerplate_line(line) == one_at_a_time, line


# --- feed content ----------------------------------------------------------------------------


def test_clean_feed_html_keeps_structure_and_filters_boilerplate() -> None:
    html = (
        "<p>The museum reopens on <b>Friday</b> after a two-year renovation.<br>"
        "Entry stays free.</p>"
        "<p>Read more: <a href='/x'>How the roof was rebuilt</a></p>"
        "<ul><li>New café</li><li>Longer hours on <code>Thursday</code></li></ul>"
        "<blockquote><p>We wanted the building to breathe again.</p></blockquote>"
        "<pre>opening  hours:\n  10-18</pre>"
        "<div class='sharedaddy'><h3>Share this:</h3><a>Twitter</a></div>"
        "<p>The post <a href='/p'>Museum reopens</a> appeared first on <a>City Notes</a>.</p>"
    )
    assert clean_feed_html(html, url="https://citynotes.example/museum") == (
        "The museum reopens on Friday after a two-year renovation.\nEntry stays free.\n\n"
        "- New café\n- Longer hours on Thursday\n\n"
        "We wanted the building to breathe again.\n\n"
        "opening  hours:\n  10-18"
    )


def test_a_section_under_a_related_heading_goes_whatever_its_markup() -> None:
    related = (
        "<div><h3>Entradas relacionadas</h3><div><h4><a href='/1'>Huertos en la azotea</a></h4>"
        "<p>Cada vez más vecinos cultivan tomates sobre el tejado de su edificio.</p></div></div>"
    )
    text = clean_feed_html(f"<p>{FERRY[0]}</p>{related}")
    assert text == FERRY[0]


def test_a_table_keeps_its_caption() -> None:
    table = (
        "<table><caption>Crossings per month</caption><tr><th>Month</th><th>Crossings</th></tr>"
        "<tr><td>June</td><td>412</td></tr></table>"
    )
    assert clean_feed_html(table) == "Crossings per month\nMonth | Crossings\nJune | 412"


def test_clean_feed_html_decodes_entities_and_drops_scripts() -> None:
    html = "<p>Fish &amp; chips &mdash; 5&nbsp;&euro;</p><script>track()</script>"
    assert clean_feed_html(html) == "Fish & chips \u2014 5 \u20ac"


def test_clean_feed_html_drops_a_comment_thread() -> None:
    html = (
        "<p>The first paragraph of the entry, with enough words to be real.</p>"
        "<div id='comments'><p>Great post!</p></div>"
    )
    assert (
        clean_feed_html(html) == "The first paragraph of the entry, with enough words to be real."
    )


@pytest.mark.parametrize("html", ["", "   ", "<p>Advertisement</p><p>Share this:</p>", "<br>"])
def test_clean_feed_html_without_text_is_empty(html: str) -> None:
    assert clean_feed_html(html) == ""


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        b"",
        "",
        "  \n\t ",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        bytes(range(256)) * 8,
        "<<<>>>&&&",
        "<html><body></body></html>",
        "<html><body><nav><a href='/'>Home</a></nav></body></html>",
        "<html><body><footer><p>The Port Gazette has covered the harbour and its ferries since"
        " 1921, from its office on the north quay.</p></footer></body></html>",
        "<html><frameset><frame src='a.html'></frameset></html>",
    ],
    ids=[
        "empty-bytes",
        "empty",
        "whitespace",
        "png",
        "binary",
        "punctuation",
        "empty-body",
        "menu-only",
        "footer-only",
        "frameset",
    ],
)
def test_no_article_raises_extract_error(html: str | bytes) -> None:
    with pytest.raises(ExtractError) as info:
        extract(html, url="https://example.org/a")
    assert str(info.value)


def test_deeply_nested_markup_keeps_its_text() -> None:
    """Unclosed tags nest far beyond 256 levels on some old pages; the text must survive."""
    nested = "<font>" * 1000 + ARTICLE
    assert "harbour ferry is back in service" in extract(html_page(nested)).text
    assert "harbour ferry is back in service" in clean_feed_html(nested)


def test_foreign_exceptions_become_extract_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("tree went sideways")

    monkeypatch.setattr("trafilatura.bare_extraction", broken)
    with pytest.raises(ExtractError, match="could not be processed") as info:
        extract(html_page(ARTICLE))
    assert isinstance(info.value.__cause__, ValueError)


# --- decoding --------------------------------------------------------------------------------


def test_bytes_with_utf16_bom() -> None:
    page = html_page(ARTICLE.replace("dry dock", "Trockendock für Fähren"))
    result = extract(page.encode("utf-16"))
    assert "Trockendock für Fähren" in result.text


def test_bytes_in_declared_legacy_charset() -> None:
    body = ARTICLE.replace("Monday", "понедельник")
    page = html_page(body, head='<meta charset="windows-1251">')
    assert "понедельник" in extract(page.encode("cp1251")).text


def test_utf8_bytes_win_over_a_stale_latin1_declaration() -> None:
    body = ARTICLE.replace("Monday", "Montag, 1. März")
    page = html_page(
        body, head='<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    )
    assert "Montag, 1. März" in extract(page.encode("utf-8")).text


def test_the_http_charset_outranks_the_meta_charset() -> None:
    body = ARTICLE.replace("Monday", "Mon\u0434ay")
    page = html_page(body, head='<meta charset="iso-8859-1">').encode("windows-1251")
    assert "Mon\u0434ay" in extract(page, encoding="windows-1251").text


def test_a_bogus_declared_charset_falls_back_to_utf8() -> None:
    page = html_page(ARTICLE.replace("Monday", "Mon\xe9day"), head='<meta charset="base64">')
    assert "Mon\ufffdday" in extract(page.encode("latin-1")).text


@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "bytes"])
def test_characters_xml_refuses_are_dropped(as_bytes: bool) -> None:
    """Control characters and the noncharacters U+FFFE and U+FFFF would make trafilatura's
    output tree fail; they go, the words around them stay."""
    body = ARTICLE.replace("Monday", "Mon\x01d\x0bay").replace("ramp", "ra\ufffem\uffffp")
    page = html_page(body.replace("three", "thr\x1fee\tand\rnow"))  # tab and CR are spaces
    result = extract(page.encode() if as_bytes else page)
    assert "after three and now months in dry dock" in result.text
    assert "said on Monday, with a new engine and a ramp for bicycles" in result.text


def test_undecodable_bytes_are_replaced() -> None:
    page = html_page(ARTICLE.replace("Monday", "Mon\xffday")).encode("latin-1")
    assert "Mon\ufffdday" in extract(page).text


# --- metadata --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "url", "canonical"),
    [
        (
            '<link rel="canonical" href="/news/ferry">',
            "https://port.example/a?x=1",
            "https://port.example/news/ferry",
        ),
        (
            '<meta property="og:url" content="https://port.example/og">',
            None,
            "https://port.example/og",
        ),
        (
            '<meta property="og:url" content="https://port.example/og">'
            '<link rel="Canonical" href="https://port.example/canon">',
            None,
            "https://port.example/canon",
        ),
        (
            '<base href="https://cdn.port.example/en/"><link rel="canonical" href="ferry">',
            None,
            "https://cdn.port.example/en/ferry",
        ),
        ('<link rel="canonical" href="/news/ferry">', None, None),
        ('<link rel="canonical" href="javascript:void(0)">', "https://port.example/a", None),
        ("", "https://port.example/a", None),
    ],
    ids=[
        "relative",
        "og-url",
        "canonical-first",
        "base-href",
        "relative-without-url",
        "not-http",
        "none",
    ],
)
def test_canonical_url(head: str, url: str | None, canonical: str | None) -> None:
    assert extract(html_page(ARTICLE, head=head), url=url).canonical_url == canonical


@pytest.mark.parametrize(
    ("html_attrs", "head", "lang"),
    [
        (' lang="en-US"', "", "en"),
        (' lang="pt_BR"', "", "pt"),
        (' xml:lang="de"', "", "de"),
        ("", '<meta property="og:locale" content="fr_FR">', "fr"),
        ("", '<meta http-equiv="Content-Language" content="es">', "es"),
        (' lang=""', "", None),
    ],
)
def test_lang(html_attrs: str, head: str, lang: str | None) -> None:
    assert extract(html_page(ARTICLE, head=head, html_attrs=html_attrs)).lang == lang


@pytest.mark.parametrize(
    ("head", "published"),
    [
        (
            '<meta property="article:published_time" content="2024-03-05T22:15:00-08:00">',
            datetime(2024, 3, 6, 6, 15, tzinfo=UTC),
        ),
        ('<meta name="date" content="2024-03-05">', datetime(2024, 3, 5, tzinfo=UTC)),
        ("", None),
    ],
    ids=["with-offset", "date-only", "none"],
)
def test_published_is_aware_utc(head: str, published: datetime | None) -> None:
    result = extract(html_page(ARTICLE, head=head))
    assert result.published == published
    if result.published:
        assert result.published.utcoffset() is not None


def test_title_author_sitename() -> None:
    head = (
        "<title>Harbour ferry returns after repairs | Port Gazette</title>"
        '<meta name="author" content="Mira Holt">'
        '<meta property="og:site_name" content="Port Gazette">'
    )
    result = extract(html_page(ARTICLE, head=head), url="https://port.example/ferry")
    assert result.title == "Harbour ferry returns after repairs"
    assert result.author == "Mira Holt"
    assert result.sitename == "Port Gazette"


# --- quality on real pages -------------------------------------------------------------------


@pytest.mark.slow
def test_aeb_score_does_not_fall_below_its_floor() -> None:
    if not (AEB_DIR / "manifest.jsonl").exists():
        pytest.skip(f"the aeb benchmark data is not at {AEB_DIR}")
    from benchmarks.extraction import load_pages, score

    result = score("aggregator", extract, list(load_pages(AEB_DIR)))
    assert result.failures == 0
    assert result.f1 >= AEB_F1_FLOOR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Plain  title\n", "Plain title"),
        ("<b>Bold</b> title <script>alert(5)</script>", "Bold title"),
        ("Fish &amp; chips", "Fish & chips"),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("<img src=x onerror=alert(1)>", ""),
        ("", ""),
    ],
)
def test_plain_text(text: str, expected: str) -> None:
    assert plain_text(text) == expected


def test_a_page_with_absurdly_much_markup_is_refused_quickly() -> None:
    page = "<html><body>" + "<div><span>x</span></div>" * 60_000 + "</body></html>"
    started = time.monotonic()
    with pytest.raises(ExtractError, match="more than 100,000 tags"):
        extract(page.encode())
    assert time.monotonic() - started < 1
