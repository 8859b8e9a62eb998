"""Boilerplate leaked and body kept on generated news, blog, forum, magazine, how-to, brief
and long-read pages.

Issue 5 asks that ``aggregator.extract.extract`` leak under 2% of the boilerplate phrases of
typical pages in English, German, French and Spanish while keeping over 98% of the body. This
script builds such pages deterministically (7 layouts x 4 languages x ``--variants``, from
``--seed``; no network, no downloads), each with a known body and known planted boilerplate,
runs our extractor and plain trafilatura (comments off) on every page and prints:

- leaked: % of the planted boilerplate phrases found in the output. Text is compared after
  NFKC, case folding and whitespace collapsing; a phrase counts where it stands between
  non-word characters, and a phrase inside a longer planted phrase (``Reply`` in ``Leave a
  Reply``) only where it occurs on its own. A phrase that also occurs in the body is not
  planted (not counted);
- kept: % of the body's 4-token shingles (``\\w+`` tokens, case-folded) found in the output;
  a body piece shorter than 4 tokens is one shingle of all its tokens;
- failed: pages where the extractor raised (ours) or returned nothing (trafilatura);
- median and 95th percentile CPU ms per page;

per language, per layout, per markup style and overall, then our 10 most-leaked phrases and our
most-lost body pieces. Body pieces are paragraphs, runs of very short paragraphs, subheadings,
list items, table rows and captions, quotes (one or two paragraphs), code, a sentence that is
mostly link text and a sentence that starts like a boilerplate label ("Shares of ...",
"Anzeige gegen ..."); bylines, figure captions, a quote's source and pull quotes (copies of a
body sentence) are neither body nor boilerplate. Besides menus, comment threads and forms,
share bars, newsletter boxes, cookie notices and related posts, the boilerplate includes prose:
a thank-you sign-off closing the article, a newsletter pitch written as full sentences between
its paragraphs, and related stories as cards with a teaser sentence each.

The layouts: news article; WordPress-style blog with comment thread and reply form; forum
thread whose first post is the article; magazine long-read with drop cap, subheads, pull
quote, caption and newsletter box; how-to post that is mostly structure (steps, code, a
captioned table, a two-paragraph quote, a run of very short paragraphs); a news brief of a
single paragraph beside teaser cards holding more text than it; a long read cut into sibling
sections by an ad and a newsletter pitch. Markup style: ``telling`` uses semantic tags and
class names (``comments-area``, ``share-bar``, ``<footer>``), ``plain`` anonymous divs with
random classes; ``inside`` puts the comments, forms, share bar, related posts, teasers and
newsletter box inside ``<article>``, ``outside`` after it.

    .venv/bin/python benchmarks/leaks.py [--variants 10] [--seed 5] [--top 10]
"""

from __future__ import annotations

import argparse
import html
import random
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from aggregator.errors import ExtractError  # noqa: E402
from aggregator.extract import extract  # noqa: E402

LAYOUTS = ("news", "blog", "forum", "magazine", "howto", "brief", "split")
SHINGLE = 4
_WORD = re.compile(r"\w+")


# --- language packs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Lang:
    """The words of one language: body material, then boilerplate by kind."""

    code: str
    sentences: tuple[str, ...]  # slots: {city} {name} {org} {num} {pct} {year}
    list_items: tuple[str, ...]
    headings: tuple[str, ...]
    quotes: tuple[str, ...]
    short: str
    shorts: tuple[str, ...]  # very short one-sentence paragraphs
    table_head: tuple[str, str, str]
    table_caption: str
    lookalike: str  # a real sentence that starts like a boilerplate label
    linked: tuple[str, str, str, str, str]  # a sentence: text, link, text, link, text
    decimal: str
    titles: tuple[str, ...]
    byline: str
    caption: str
    cities: tuple[str, ...]
    names: tuple[str, ...]
    orgs: tuple[str, ...]
    months: tuple[str, ...]
    comments: tuple[str, ...]
    related: tuple[str, ...]
    boilerplate: dict[str, tuple[str, ...]]


EN = Lang(
    code="en",
    sentences=(
        "The city council of {city} approved a {num} million euro plan on Tuesday to extend"
        " the tram network to the northern districts by {year}.",
        "{name}, who has chaired the transport committee for six years, said the vote ended a"
        " debate that had divided the council since the last election.",
        "Residents of the outer neighbourhoods have long complained that buses arrive late and"
        " that the last connection leaves before eleven at night.",
        "According to figures published by {org}, ridership grew by {pct} percent last year,"
        " the fastest increase in more than a decade.",
        "Critics argue that the money would be better spent on repairing existing lines, many"
        " of which were built in the nineteen seventies.",
        "Engineers expect the first section, a stretch of {num} kilometres along the river, to"
        " open to passengers within three years.",
        "Shop owners along the planned route fear that construction will keep customers away"
        " during the busiest months of the year.",
        "The opposition has demanded an independent review of the cost estimates before any"
        " contracts are signed.",
        "Similar projects in neighbouring regions ran over budget by as much as a third, a"
        " report by {org} found last spring.",
        "{name} rejected the comparison, pointing out that the new plan includes a reserve"
        " fund for unexpected expenses.",
        "Environmental groups welcomed the decision but warned that the trees along the old"
        " railway embankment must be protected.",
        "Under the agreement, the regional government will cover roughly half of the"
        " construction costs over the next decade.",
        "Students at the technical university have been asked to help design the new stops,"
        " which will include covered bicycle racks.",
        "A public consultation will open next month, and residents can submit their proposals"
        " online or at the town hall.",
        "The last time the city built a new line was in {year}, when a short extension reached"
        " the central station.",
        "Traffic on the ring road has risen steadily, and commuters now spend an average of"
        " {num} minutes in congestion every day.",
        "Economists at {org} estimate that every euro invested will return nearly two euros in"
        " saved travel time and cleaner air.",
        "The mayor is expected to present a detailed timetable for the works at a press"
        " conference on Friday.",
        "Some council members had pushed for an underground line instead, but the idea was"
        " dropped because of the soft soil near the river.",
        "For now, the old depot on the eastern edge of town will be converted into a"
        " maintenance hall for the new vehicles.",
    ),
    list_items=(
        "Four new stops between the station and the university",
        "A park-and-ride site at the northern motorway exit",
        "Covered bicycle racks at every stop",
        "Trams every six minutes at peak hours",
        "Step-free boarding on all platforms",
        "Night service on Fridays and Saturdays",
    ),
    headings=(
        "What the plan includes",
        "Who pays for it",
        "The objections",
        "What happens next",
        "A long history of delays",
    ),
    quotes=(
        "We have waited twenty years for this line, and now we finally have a date.",
        "Nobody has explained to us how the shops will survive two years of roadworks.",
    ),
    short="The vote was unanimous.",
    shorts=("Nobody objected.", "Then came the bill.", "It did not last.", "The answer was no."),
    table_head=("Year", "Passengers (millions)", "Change"),
    table_caption="Passengers per year on the existing network",
    lookalike="Shares of the tram operator rose by four percent after the vote.",
    linked=(
        "The plan is set out in ",
        "the council's full report",
        " and in ",
        "the minutes of Tuesday's meeting",
        ".",
    ),
    decimal=".",
    titles=(
        "{city} approves tram extension to the northern districts",
        "New tram line for {city}: council backs {num} million plan",
    ),
    byline="By {name} · 14 March {year}",
    caption="The old depot on the eastern edge of {city}. Photo: {name}",
    cities=("Bristol", "Leeds", "Leicester", "Norwich", "Exeter"),
    names=("Sarah Collins", "David Owen", "Priya Shah", "Tom Walsh"),
    orgs=("Movilia", "Regional Statistics", "Urbania Consulting"),
    months=("Mar", "Jun", "Oct"),
    comments=(
        "Great article, I have been waiting for this tram line since I moved here.",
        "Finally some good news for the northern districts, thanks for the detailed report.",
        "I doubt they will finish on time, the last extension took twice as long.",
        "Does anyone know whether the night buses will keep running after the tram opens?",
        "As a shop owner on the route I can only say that nobody asked us.",
        "Thanks for the table, very helpful to see the numbers over the years.",
        "The cost estimate seems far too optimistic to me.",
        "My kids take the bus to school every day, this will make a huge difference.",
    ),
    related=(
        "Bike lanes on the ring road: a year later",
        "Why rents in {city} keep rising",
        "New swimming pool opens in the old harbour",
        "Council election: the candidates at a glance",
        "Ten restaurants worth the trip to the suburbs",
        "Football club presents its new stadium plans",
        "How the heatwave changed the city's parks",
        "Night trains return to the central station",
    ),
    boilerplate={
        "comment form": (
            "Leave a Reply",
            "Your email address will not be published.",
            "Required fields are marked *",
            "Save my name, email, and website in this browser for the next time I comment.",
            "Post Comment",
        ),
        "comments": ("{n} thoughts on this article", "Reply"),
        "copyright": ("© Copyright {year} {site}. All rights reserved.",),
        "share": ("Share this:", "Share on Facebook", "Share on Twitter", "Share via email"),
        "subscribe": (
            "Subscribe to our newsletter",
            "Get the best stories delivered to your inbox every morning.",
            "Sign up",
        ),
        "cookie": (
            "We use cookies to give you the best experience on our website.",
            "By continuing to browse, you agree to our use of cookies.",
            "Accept all cookies",
        ),
        "ad": ("Advertisement",),
        "read more": ("Read more:",),
        "related": ("Related posts",),
        "sign-off": (
            "Thanks for reading! If you enjoyed this article, please share it with a friend who"
            " might like it too.",
        ),
        "pitch": (
            "Want more stories like this? Sign up for our free newsletter and get the best of our"
            " reporting in your inbox every Friday.",
        ),
        "menu": ("Home", "World", "Politics", "Business", "Culture", "Contact"),
        "forum": (
            "You must log in or register to reply here.",
            "Joined: {month} {year}",
            "Quote",
        ),
    },
)

DE = Lang(
    code="de",
    sentences=(
        "Der Stadtrat von {city} hat am Dienstag einen Plan über {num} Millionen Euro"
        " gebilligt, mit dem das Straßenbahnnetz bis {year} in die nördlichen Stadtteile"
        " verlängert werden soll.",
        "{name}, seit sechs Jahren an der Spitze des Verkehrsausschusses, sagte, die"
        " Abstimmung beende einen Streit, der den Rat seit der letzten Wahl gespalten habe.",
        "Bewohner der äußeren Viertel beklagen seit langem, dass die Busse zu spät kommen und"
        " die letzte Verbindung schon vor elf Uhr abends fährt.",
        "Nach Zahlen von {org} stieg die Zahl der Fahrgäste im vergangenen Jahr um {pct}"
        " Prozent, so stark wie seit mehr als zehn Jahren nicht.",
        "Kritiker meinen, das Geld wäre besser in die Sanierung der bestehenden Strecken"
        " investiert, von denen viele in den siebziger Jahren gebaut wurden.",
        "Die Ingenieure rechnen damit, dass der erste Abschnitt, {num} Kilometer entlang des"
        " Flusses, in drei Jahren für Fahrgäste öffnet.",
        "Ladenbesitzer an der geplanten Strecke fürchten, dass die Baustelle in den"
        " umsatzstärksten Monaten die Kundschaft fernhält.",
        "Die Opposition verlangt eine unabhängige Prüfung der Kostenschätzung, bevor Verträge"
        " unterzeichnet werden.",
        "Ähnliche Projekte in Nachbarregionen wurden laut einem Bericht von {org} aus dem"
        " Frühjahr um bis zu ein Drittel teurer als geplant.",
        "{name} wies den Vergleich zurück und verwies darauf, dass der neue Plan eine Reserve"
        " für unerwartete Ausgaben enthält.",
        "Umweltverbände begrüßten die Entscheidung, warnten aber, dass die Bäume am alten"
        " Bahndamm geschützt werden müssen.",
        "Nach der Vereinbarung übernimmt die Landesregierung in den kommenden zehn Jahren etwa"
        " die Hälfte der Baukosten.",
        "Studierende der Technischen Hochschule sollen bei der Gestaltung der neuen"
        " Haltestellen helfen, die überdachte Fahrradständer bekommen.",
        "Im nächsten Monat beginnt eine Bürgerbeteiligung, bei der Anwohner ihre Vorschläge"
        " online oder im Rathaus einreichen können.",
        "Zuletzt baute die Stadt im Jahr {year} eine neue Linie, als eine kurze Verlängerung"
        " den Hauptbahnhof erreichte.",
        "Der Verkehr auf dem Ring hat stetig zugenommen, und Pendler stehen inzwischen jeden"
        " Tag durchschnittlich {num} Minuten im Stau.",
        "Ökonomen von {org} schätzen, dass jeder investierte Euro fast zwei Euro an gesparter"
        " Fahrzeit und sauberer Luft einbringt.",
        "Der Bürgermeister will am Freitag auf einer Pressekonferenz einen genauen Zeitplan"
        " für die Bauarbeiten vorstellen.",
        "Einige Ratsmitglieder hatten stattdessen eine U-Bahn gefordert, doch die Idee wurde"
        " wegen des weichen Bodens am Fluss verworfen.",
        "Das alte Depot am östlichen Stadtrand soll vorerst zu einer Werkstatthalle für die"
        " neuen Fahrzeuge umgebaut werden.",
    ),
    list_items=(
        "Vier neue Haltestellen zwischen Bahnhof und Universität",
        "Ein Park-and-Ride-Platz an der nördlichen Autobahnausfahrt",
        "Überdachte Fahrradständer an jeder Haltestelle",
        "Bahnen alle sechs Minuten im Berufsverkehr",
        "Stufenloser Einstieg an allen Bahnsteigen",
        "Nachtverkehr an Freitagen und Samstagen",
    ),
    headings=(
        "Was der Plan vorsieht",
        "Wer das bezahlt",
        "Die Einwände",
        "Wie es weitergeht",
        "Eine lange Geschichte von Verzögerungen",
    ),
    quotes=(
        "Wir warten seit zwanzig Jahren auf diese Linie, und jetzt gibt es endlich einen Termin.",
        "Niemand hat uns erklärt, wie die Geschäfte zwei Jahre Baustelle überstehen sollen.",
    ),
    short="Die Abstimmung fiel einstimmig aus.",
    shorts=(
        "Niemand widersprach.",
        "Dann kam die Rechnung.",
        "Es hielt nicht lange.",
        "Die Antwort war nein.",
    ),
    table_head=("Jahr", "Fahrgäste (Millionen)", "Veränderung"),
    table_caption="Fahrgäste pro Jahr im bestehenden Netz",
    lookalike="Anzeige gegen den Stadtrat hat bislang niemand erstattet.",
    linked=(
        "Der Plan steht im ",
        "vollständigen Bericht des Stadtrats",
        " und im ",
        "Protokoll der Sitzung vom Dienstag",
        ".",
    ),
    decimal=",",
    titles=(
        "{city} verlängert die Straßenbahn in den Norden",
        "Neue Linie für {city}: Stadtrat billigt Plan über {num} Millionen",
    ),
    byline="Von {name} · 14. März {year}",
    caption="Das alte Depot am östlichen Stadtrand von {city}. Foto: {name}",
    cities=("Freiburg", "Kassel", "Münster", "Augsburg", "Erfurt"),
    names=("Petra Neumann", "Jürgen Hoffmann", "Aylin Demir", "Markus Brandt"),
    orgs=("Mobilia", "Statistik Regional", "Urbania Consult"),
    months=("März", "Juni", "Okt."),
    comments=(
        "Toller Artikel, auf diese Straßenbahnlinie warte ich schon, seit ich hierher gezogen bin.",
        "Endlich gute Nachrichten für den Norden der Stadt, danke für den ausführlichen Bericht.",
        "Ich bezweifle, dass sie rechtzeitig fertig werden, die letzte Verlängerung hat"
        " doppelt so lange gedauert.",
        "Weiß jemand, ob die Nachtbusse weiterfahren, wenn die Bahn in Betrieb geht?",
        "Als Ladenbesitzer an der Strecke kann ich nur sagen, dass uns niemand gefragt hat.",
        "Danke für die Tabelle, sehr hilfreich, die Zahlen über die Jahre zu sehen.",
        "Die Kostenschätzung kommt mir viel zu optimistisch vor.",
        "Meine Kinder fahren jeden Tag mit dem Bus zur Schule, das wird einen großen"
        " Unterschied machen.",
    ),
    related=(
        "Radwege am Ring: eine Bilanz nach einem Jahr",
        "Warum die Mieten in {city} weiter steigen",
        "Neues Schwimmbad im alten Hafen eröffnet",
        "Kommunalwahl: die Kandidaten im Überblick",
        "Zehn Restaurants, für die sich der Weg in die Vororte lohnt",
        "Fußballverein stellt Pläne für neues Stadion vor",
        "Wie die Hitzewelle die Parks der Stadt verändert hat",
        "Nachtzüge kehren an den Hauptbahnhof zurück",
    ),
    boilerplate={
        "comment form": (
            "Schreibe einen Kommentar",
            "Deine E-Mail-Adresse wird nicht veröffentlicht.",
            "Erforderliche Felder sind mit * markiert",
            "Meinen Namen, meine E-Mail-Adresse und meine Website in diesem Browser speichern,"
            " bis ich wieder kommentiere.",
            "Kommentar abschicken",
        ),
        "comments": ("{n} Gedanken zu diesem Artikel", "Antworten"),
        "copyright": ("© Copyright {year} {site}. Alle Rechte vorbehalten.",),
        "share": ("Teilen mit:", "Auf Facebook teilen", "Auf Twitter teilen", "Per E-Mail teilen"),
        "subscribe": (
            "Newsletter abonnieren",
            "Die wichtigsten Nachrichten jeden Morgen in Ihrem Postfach.",
            "Jetzt anmelden",
        ),
        "cookie": (
            "Wir verwenden Cookies, um Ihnen das beste Erlebnis auf unserer Website zu bieten.",
            "Wenn Sie weitersurfen, stimmen Sie der Verwendung von Cookies zu.",
            "Alle Cookies akzeptieren",
        ),
        "ad": ("Anzeige",),
        "read more": ("Lesen Sie auch:",),
        "related": ("Ähnliche Beiträge",),
        "sign-off": (
            "Danke fürs Lesen! Wenn Ihnen dieser Artikel gefallen hat, teilen Sie ihn mit"
            " Freunden, die er auch interessieren könnte.",
        ),
        "pitch": (
            "Sie wollen mehr davon? Abonnieren Sie unseren kostenlosen Newsletter und erhalten Sie"
            " die wichtigsten Nachrichten jeden Morgen in Ihrem Postfach.",
        ),
        "menu": ("Startseite", "Politik", "Wirtschaft", "Kultur", "Sport", "Kontakt"),
        "forum": (
            "Sie müssen sich anmelden oder registrieren, um hier zu antworten.",
            "Registriert: {month} {year}",
            "Zitieren",
        ),
    },
)

FR = Lang(
    code="fr",
    sentences=(
        "Le conseil municipal de {city} a approuvé mardi un plan de {num} millions d'euros"
        " pour prolonger le réseau de tramway vers les quartiers nord d'ici {year}.",
        "{name}, qui préside la commission des transports depuis six ans, a déclaré que ce"
        " vote mettait fin à un débat qui divisait le conseil depuis les dernières élections.",
        "Les habitants des quartiers périphériques se plaignent depuis longtemps des bus en"
        " retard et du dernier départ fixé avant onze heures du soir.",
        "Selon les chiffres publiés par {org}, la fréquentation a augmenté de {pct} pour cent"
        " l'an dernier, la plus forte hausse depuis plus de dix ans.",
        "Les critiques estiment que cet argent serait mieux employé à rénover les lignes"
        " existantes, dont beaucoup datent des années soixante-dix.",
        "Les ingénieurs prévoient que le premier tronçon, long de {num} kilomètres le long du"
        " fleuve, accueillera des voyageurs d'ici trois ans.",
        "Les commerçants installés sur le tracé prévu craignent que le chantier éloigne leurs"
        " clients pendant les mois les plus chargés de l'année.",
        "L'opposition réclame un audit indépendant des estimations de coûts avant la signature"
        " de tout contrat.",
        "Des projets similaires dans les régions voisines ont dépassé leur budget de près d'un"
        " tiers, selon un rapport de {org} paru au printemps.",
        "{name} a rejeté la comparaison, soulignant que le nouveau plan prévoit une réserve"
        " pour les dépenses imprévues.",
        "Les associations écologistes ont salué la décision, tout en rappelant que les arbres"
        " de l'ancien talus ferroviaire doivent être protégés.",
        "Aux termes de l'accord, la région prendra en charge environ la moitié des coûts de"
        " construction au cours de la prochaine décennie.",
        "Les étudiants de l'école d'ingénieurs participeront à la conception des nouveaux"
        " arrêts, qui seront équipés d'abris pour vélos.",
        "Une consultation publique s'ouvrira le mois prochain et les habitants pourront"
        " déposer leurs propositions en ligne ou à la mairie.",
        "La dernière nouvelle ligne de la ville remonte à {year}, lorsqu'un court prolongement"
        " avait atteint la gare centrale.",
        "La circulation sur le boulevard périphérique ne cesse d'augmenter et les"
        " automobilistes passent en moyenne {num} minutes par jour dans les embouteillages.",
        "Les économistes de {org} estiment que chaque euro investi rapportera près de deux"
        " euros en temps de trajet gagné et en air plus propre.",
        "Le maire doit présenter vendredi, lors d'une conférence de presse, un calendrier"
        " détaillé des travaux.",
        "Certains élus plaidaient pour une ligne souterraine, mais l'idée a été abandonnée en"
        " raison du sol meuble près du fleuve.",
        "L'ancien dépôt situé à l'est de la ville sera transformé en atelier de maintenance"
        " pour les nouvelles rames.",
    ),
    list_items=(
        "Quatre nouveaux arrêts entre la gare et l'université",
        "Un parking relais à la sortie nord de l'autoroute",
        "Des abris pour vélos à chaque arrêt",
        "Un tram toutes les six minutes aux heures de pointe",
        "Un accès de plain-pied sur tous les quais",
        "Un service de nuit les vendredis et samedis",
    ),
    headings=(
        "Ce que prévoit le plan",
        "Qui paie la facture",
        "Les objections",
        "La suite du calendrier",
        "Une longue histoire de retards",
    ),
    quotes=(
        "Nous attendons cette ligne depuis vingt ans, et nous avons enfin une date.",
        "Personne ne nous a expliqué comment les commerces survivront à deux ans de travaux.",
    ),
    short="Le vote a été unanime.",
    shorts=(
        "Personne n'a protesté.",
        "Puis est venue la facture.",
        "Cela n'a pas duré.",
        "La réponse a été non.",
    ),
    table_head=("Année", "Voyageurs (millions)", "Évolution"),
    table_caption="Voyageurs par an sur le réseau actuel",
    lookalike="Publicité mensongère : l'opposition a porté plainte contre le projet.",
    linked=(
        "Le projet est détaillé dans ",
        "le rapport complet du conseil",
        " et dans ",
        "le compte rendu de la séance de mardi",
        ".",
    ),
    decimal=",",
    titles=(
        "{city} prolonge son tramway vers les quartiers nord",
        "Nouvelle ligne à {city} : le conseil vote un plan de {num} millions",
    ),
    byline="Par {name} · 14 mars {year}",
    caption="L'ancien dépôt à l'est de {city}. Photo : {name}",
    cities=("Rennes", "Dijon", "Tours", "Nancy", "Angers"),
    names=("Claire Dubois", "Julien Moreau", "Nadia Haddad", "Pierre Lefèvre"),
    orgs=("l'Observatoire des mobilités", "l'Agence d'urbanisme", "l'Institut régional"),
    months=("mars", "juin", "oct."),
    comments=(
        "Super article, j'attends cette ligne de tram depuis que j'ai emménagé ici.",
        "Enfin une bonne nouvelle pour les quartiers nord, merci pour ce reportage détaillé.",
        "Je doute qu'ils finissent à temps, le dernier prolongement a pris deux fois plus de"
        " temps.",
        "Quelqu'un sait-il si les bus de nuit continueront de circuler après l'arrivée du tram ?",
        "En tant que commerçant sur le tracé, je peux seulement dire que personne ne nous a"
        " consultés.",
        "Merci pour le tableau, très utile pour voir l'évolution des chiffres.",
        "L'estimation des coûts me paraît beaucoup trop optimiste.",
        "Mes enfants prennent le bus pour aller à l'école tous les jours, cela va tout changer.",
    ),
    related=(
        "Pistes cyclables sur le périphérique : le bilan un an après",
        "Pourquoi les loyers continuent de grimper à {city}",
        "Une nouvelle piscine ouvre dans l'ancien port",
        "Municipales : les candidats en un coup d'œil",
        "Dix restaurants qui valent le détour en banlieue",
        "Le club de football présente son projet de stade",
        "Comment la canicule a transformé les parcs de la ville",
        "Le retour des trains de nuit à la gare centrale",
    ),
    boilerplate={
        "comment form": (
            "Laisser un commentaire",
            "Votre adresse e-mail ne sera pas publiée.",
            "Les champs obligatoires sont indiqués avec *",
            "Enregistrer mon nom, mon e-mail et mon site dans le navigateur pour mon prochain"
            " commentaire.",
            "Publier le commentaire",
        ),
        "comments": ("{n} réflexions sur cet article", "Répondre"),
        "copyright": ("© Copyright {year} {site}. Tous droits réservés.",),
        "share": (
            "Partager :",
            "Partager sur Facebook",
            "Partager sur Twitter",
            "Envoyer par e-mail",
        ),
        "subscribe": (
            "Abonnez-vous à notre newsletter",
            "Recevez chaque matin l'essentiel de l'actualité dans votre boîte mail.",
            "Je m'inscris",
        ),
        "cookie": (
            "Nous utilisons des cookies pour vous offrir la meilleure expérience sur notre site.",
            "En poursuivant votre navigation, vous acceptez l'utilisation des cookies.",
            "Accepter tous les cookies",
        ),
        "ad": ("Publicité",),
        "read more": ("Lire aussi :",),
        "related": ("Articles similaires",),
        "sign-off": (
            "Merci de votre lecture ! Si cet article vous a plu, partagez-le avec un ami qu'il"
            " pourrait intéresser.",
        ),
        "pitch": (
            "Vous en voulez plus ? Inscrivez-vous à notre newsletter gratuite et recevez chaque"
            " matin l'essentiel de l'actualité dans votre boîte mail.",
        ),
        "menu": ("Accueil", "International", "Politique", "Économie", "Culture", "Contact"),
        "forum": (
            "Vous devez vous connecter ou vous inscrire pour répondre ici.",
            "Inscrit : {month} {year}",
            "Citer",
        ),
    },
)

ES = Lang(
    code="es",
    sentences=(
        "El ayuntamiento de {city} aprobó el martes un plan de {num} millones de euros para"
        " ampliar la red de tranvía hasta los barrios del norte antes de {year}.",
        "{name}, que preside la comisión de transportes desde hace seis años, afirmó que la"
        " votación pone fin a un debate que dividía al pleno desde las últimas elecciones.",
        "Los vecinos de los barrios periféricos se quejan desde hace tiempo de que los"
        " autobuses llegan tarde y de que el último servicio sale antes de las once de la"
        " noche.",
        "Según las cifras publicadas por {org}, el número de viajeros creció un {pct} por"
        " ciento el año pasado, el mayor aumento en más de una década.",
        "Los críticos sostienen que el dinero estaría mejor invertido en reparar las líneas"
        " existentes, muchas de ellas construidas en los años setenta.",
        "Los ingenieros calculan que el primer tramo, de {num} kilómetros junto al río, abrirá"
        " a los pasajeros en un plazo de tres años.",
        "Los comerciantes del trazado previsto temen que las obras alejen a los clientes"
        " durante los meses de más ventas del año.",
        "La oposición exige una revisión independiente de las estimaciones de costes antes de"
        " firmar cualquier contrato.",
        "Proyectos similares en regiones vecinas superaron su presupuesto hasta en un tercio,"
        " según un informe de {org} publicado en primavera.",
        "{name} rechazó la comparación y señaló que el nuevo plan incluye un fondo de reserva"
        " para gastos imprevistos.",
        "Los grupos ecologistas celebraron la decisión, pero advirtieron de que los árboles"
        " del antiguo terraplén ferroviario deben protegerse.",
        "Según el acuerdo, el gobierno regional cubrirá aproximadamente la mitad de los costes"
        " de construcción durante la próxima década.",
        "Los estudiantes de la universidad politécnica ayudarán a diseñar las nuevas paradas,"
        " que contarán con aparcamientos cubiertos para bicicletas.",
        "El mes que viene se abrirá una consulta pública y los vecinos podrán presentar sus"
        " propuestas por internet o en el ayuntamiento.",
        "La última vez que la ciudad construyó una línea nueva fue en {year}, cuando una breve"
        " prolongación llegó a la estación central.",
        "El tráfico en la ronda de circunvalación no deja de crecer y los conductores pasan de"
        " media {num} minutos al día en atascos.",
        "Los economistas de {org} calculan que cada euro invertido devolverá casi dos euros en"
        " tiempo de viaje ahorrado y aire más limpio.",
        "Está previsto que el alcalde presente el viernes, en una rueda de prensa, un"
        " calendario detallado de las obras.",
        "Algunos concejales defendían una línea subterránea, pero la idea se descartó por el"
        " terreno blando cerca del río.",
        "Por ahora, las antiguas cocheras del extremo oriental de la ciudad se convertirán en"
        " un taller de mantenimiento para los nuevos vehículos.",
    ),
    list_items=(
        "Cuatro paradas nuevas entre la estación y la universidad",
        "Un aparcamiento disuasorio en la salida norte de la autopista",
        "Aparcamientos cubiertos para bicicletas en cada parada",
        "Un tranvía cada seis minutos en hora punta",
        "Acceso sin escalones en todos los andenes",
        "Servicio nocturno los viernes y sábados",
    ),
    headings=(
        "Qué incluye el plan",
        "Quién lo paga",
        "Las objeciones",
        "Los próximos pasos",
        "Una larga historia de retrasos",
    ),
    quotes=(
        "Llevamos veinte años esperando esta línea y por fin tenemos una fecha.",
        "Nadie nos ha explicado cómo sobrevivirán las tiendas a dos años de obras.",
    ),
    short="La votación fue unánime.",
    shorts=("Nadie protestó.", "Luego llegó la factura.", "No duró mucho.", "La respuesta fue no."),
    table_head=("Año", "Viajeros (millones)", "Variación"),
    table_caption="Viajeros por año en la red actual",
    lookalike="Compartir coche será más fácil gracias a la nueva línea.",
    linked=(
        "El plan se detalla en ",
        "el informe completo del ayuntamiento",
        " y en ",
        "el acta de la sesión del martes",
        ".",
    ),
    decimal=",",
    titles=(
        "{city} amplía el tranvía hasta los barrios del norte",
        "Nueva línea para {city}: el pleno aprueba un plan de {num} millones",
    ),
    byline="Por {name} · 14 de marzo de {year}",
    caption="Las antiguas cocheras al este de {city}. Foto: {name}",
    cities=("Zaragoza", "Murcia", "Valladolid", "Vigo", "Córdoba"),
    names=("Lucía Fernández", "Javier Ruiz", "Marta Ortega", "Andrés Molina"),
    orgs=("Movilia", "Estadística Regional", "Urbania Consultores"),
    months=("mar.", "jun.", "oct."),
    comments=(
        "Gran artículo, llevo esperando esta línea de tranvía desde que me mudé aquí.",
        "Por fin buenas noticias para los barrios del norte, gracias por el reportaje tan"
        " detallado.",
        "Dudo que terminen a tiempo, la última ampliación tardó el doble.",
        "¿Alguien sabe si los autobuses nocturnos seguirán funcionando cuando abra el tranvía?",
        "Como comerciante del trazado solo puedo decir que nadie nos preguntó.",
        "Gracias por la tabla, muy útil para ver las cifras a lo largo de los años.",
        "La estimación de costes me parece demasiado optimista.",
        "Mis hijos van al colegio en autobús todos los días, esto va a cambiar mucho.",
    ),
    related=(
        "Carriles bici en la ronda: balance un año después",
        "Por qué los alquileres en {city} siguen subiendo",
        "Abre una nueva piscina en el antiguo puerto",
        "Elecciones municipales: los candidatos de un vistazo",
        "Diez restaurantes que merecen el viaje a las afueras",
        "El club de fútbol presenta su proyecto de nuevo estadio",
        "Cómo la ola de calor cambió los parques de la ciudad",
        "Los trenes nocturnos vuelven a la estación central",
    ),
    boilerplate={
        "comment form": (
            "Deja una respuesta",
            "Tu dirección de correo electrónico no será publicada.",
            "Los campos obligatorios están marcados con *",
            "Guarda mi nombre, correo electrónico y web en este navegador para la próxima vez"
            " que comente.",
            "Publicar el comentario",
        ),
        "comments": ("{n} comentarios en este artículo", "Responder"),
        "copyright": ("© Copyright {year} {site}. Todos los derechos reservados.",),
        "share": (
            "Compartir:",
            "Compartir en Facebook",
            "Compartir en Twitter",
            "Enviar por correo",
        ),
        "subscribe": (
            "Suscríbete a nuestro boletín",
            "Recibe cada mañana las noticias más importantes en tu correo.",
            "Quiero suscribirme",
        ),
        "cookie": (
            "Utilizamos cookies para ofrecerte la mejor experiencia en nuestra web.",
            "Si continúas navegando, aceptas el uso de cookies.",
            "Aceptar todas las cookies",
        ),
        "ad": ("Publicidad",),
        "read more": ("Lee también:",),
        "related": ("Entradas relacionadas",),
        "sign-off": (
            "¡Gracias por leer! Si te ha gustado este artículo, compártelo con algún amigo al que"
            " también le pueda interesar.",
        ),
        "pitch": (
            "¿Quieres más historias como esta? Suscríbete a nuestro boletín gratuito y recibe cada"
            " mañana las noticias más importantes en tu correo.",
        ),
        "menu": ("Inicio", "Internacional", "Política", "Economía", "Cultura", "Contacto"),
        "forum": (
            "Debes iniciar sesión o registrarte para responder aquí.",
            "Registrado: {month} {year}",
            "Citar",
        ),
    },
)

LANGS = {lang.code: lang for lang in (EN, DE, FR, ES)}


# --- pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A piece of text planted on a page; ``key`` groups the same piece across pages."""

    kind: str
    key: str
    text: str


@dataclass
class Page:
    layout: str
    lang: str
    markup: str
    url: str
    html: str = ""
    body: list[Piece] = field(default_factory=list)
    boilerplate: list[Piece] = field(default_factory=list)


class _Builder:
    """Writes one page's markup while recording which text is body and which boilerplate."""

    def __init__(self, rng: random.Random, lang: Lang, page: Page) -> None:
        self.rng, self.lang, self.page = rng, lang, page
        self.telling = page.markup.startswith("telling")
        self.inside = page.markup.endswith("inside")
        self.slots = {
            "city": rng.choice(lang.cities),
            "name": rng.choice(lang.names),
            "org": rng.choice(lang.orgs),
            "num": str(rng.randint(8, 95)),
            "pct": str(rng.randint(3, 14)),
            "year": str(rng.randint(2009, 2026)),
            "month": rng.choice(lang.months),
            "site": rng.choice(("Stadtblick", "Le Quotidien", "The Courier", "El Diario")),
        }
        self.sentences = rng.sample(lang.sentences, len(lang.sentences))
        self.related = [t.format(**self.slots) for t in rng.sample(lang.related, 5)]

    def fill(self, template: str, **extra: str) -> str:
        return template.format(**self.slots, **extra)

    def attrs(self, telling: str) -> str:
        """Class attribute: the telling name, or an anonymous class (or none) in plain markup."""
        if self.telling:
            return f' class="{telling}"'
        return f' class="c-{self.rng.getrandbits(24):06x}"' if self.rng.random() < 0.7 else ""

    def tag(self, telling: str) -> str:
        """A semantic tag (nav, footer, aside, section) or, in plain markup, a div."""
        return telling if self.telling else "div"

    def body(self, kind: str, key: str, text: str) -> str:
        self.page.body.append(Piece(kind, f"{self.page.layout} {kind} {key}", text))
        return html.escape(text)

    def bp(self, kind: str, template: str, text: str | None = None) -> str:
        """Boilerplate ``text`` (default: ``template`` filled), grouped under ``template``."""
        text = self.fill(template) if text is None else text
        self.page.boilerplate.append(Piece(kind, f"{self.lang.code} {template}", text))
        return html.escape(text)

    def phrase(self, kind: str, index: int = 0) -> str:
        return self.bp(kind, self.lang.boilerplate[kind][index])

    # --- body parts

    def paragraph(self, position: str, br: bool = False) -> str:
        text = f"{self.sentences.pop()} {self.sentences.pop()}".format(**self.slots)
        escaped = self.body("paragraph", position, text)
        return f"{escaped}<br><br>" if br else f"<p>{escaped}</p>"

    def paragraphs(
        self, count: int, extras: dict[int, str] | None = None, br: bool = False
    ) -> list[str]:
        """``count`` paragraphs (``<p>``, or text between ``<br><br>``), with markup from
        ``extras`` after the paragraph of that index."""
        out = []
        for i in range(count):
            position = "first" if i == 0 else "last" if i == count - 1 else "middle"
            out.append(self.paragraph(position, br))
            if extras and i in extras:
                out.append(extras[i])
        return out

    def short(self) -> str:
        """A one-sentence paragraph, the kind a line filter must not take for boilerplate."""
        return f"<p>{self.body('short paragraph', '', self.lang.short)}</p>"

    def heading(self) -> str:
        return f"<h2>{self.body('heading', '', self.rng.choice(self.lang.headings))}</h2>"

    def items(self) -> str:
        chosen = self.rng.sample(self.lang.list_items, self.rng.randint(3, 5))
        tag = self.rng.choice(("ul", "ol"))
        rows = "".join(f"<li>{self.body('list item', '', item)}</li>" for item in chosen)
        return f"<{tag}>{rows}</{tag}>"

    def table(self, caption: bool = False) -> str:
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in self.lang.table_head)
        self.page.body.append(
            Piece("table row", f"{self.page.layout} table head", " ".join(self.lang.table_head))
        )
        rows, year = [], int(self.slots["year"]) - 4
        for offset in range(4):
            cells = (
                str(year + offset),
                f"{self.rng.uniform(20, 90):.1f}".replace(".", self.lang.decimal),
                f"{self.rng.uniform(-5, 9):+.1f} %".replace(".", self.lang.decimal),
            )
            self.body("table row", "", " ".join(cells))
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        title = (
            f"<caption>{self.body('table caption', '', self.lang.table_caption)}</caption>"
            if caption
            else ""
        )
        return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def quote(self) -> str:
        text = self.rng.choice(self.lang.quotes)
        return f"<blockquote><p>{self.body('quote', '', text)}</p></blockquote>"

    def short_run(self) -> str:
        """Very short paragraphs in a row, one sentence each."""
        return "".join(
            f"<p>{self.body('short paragraph', 'run', text)}</p>" for text in self.lang.shorts
        )

    def lookalike(self) -> str:
        """A real sentence that starts like a boilerplate label ("Shares of ...")."""
        return f"<p>{self.body('look-alike', '', self.lang.lookalike)}</p>"

    def linked(self) -> str:
        """A sentence that is mostly link text, and still the article's."""
        before, first, middle, second, after = self.lang.linked
        self.page.body.append(
            Piece("linked sentence", f"{self.page.layout} linked", "".join(self.lang.linked))
        )
        return (
            f'<p>{html.escape(before)}<a href="/report">{html.escape(first)}</a>'
            f'{html.escape(middle)}<a href="/minutes">{html.escape(second)}</a>'
            f"{html.escape(after)}</p>"
        )

    def long_quote(self) -> str:
        """A quotation of two paragraphs, its source in a footer (neither body nor boilerplate)."""
        first, second = self.lang.quotes
        return (
            f"<blockquote><p>{self.body('quote', 'long', first)}</p>"
            f"<p>{self.body('quote', 'long', second)}</p>"
            f"<footer>— {self.neutral('{name}')}</footer></blockquote>"
        )

    def code(self) -> str:
        text = "for stop in line.stops:\n    print(stop.name, stop.opening_year)"
        return f"<pre><code>{self.body('code', '', text)}</code></pre>"

    def neutral(self, template: str) -> str:
        return html.escape(self.fill(template))

    # --- boilerplate parts

    def menu(self, where: str) -> str:
        links = "".join(
            f'<li><a href="/{i}">{self.phrase("menu", i)}</a></li>'
            for i in range(len(self.lang.boilerplate["menu"]))
        )
        return f"<{self.tag('nav')}{self.attrs(where)}><ul>{links}</ul></{self.tag('nav')}>"

    def cookie(self) -> str:
        return (
            f"<div{self.attrs('cookie-notice')}><p>{self.phrase('cookie', 0)}"
            f" {self.phrase('cookie', 1)}</p>"
            f"<button>{self.phrase('cookie', 2)}</button></div>"
        )

    def ad(self) -> str:
        return f"<div{self.attrs('ad-slot')}><span>{self.phrase('ad')}</span></div>"

    def read_more(self) -> str:
        title = self.related.pop()
        label = self.lang.boilerplate["read more"][0]
        text = self.bp("read more", label, f"{label} {title}")
        return f'<p{self.attrs("read-more")}><a href="/more">{text}</a></p>'

    def share(self) -> str:
        links = "".join(f'<a href="#">{self.phrase("share", i)}</a> ' for i in (1, 2, 3))
        return (
            f"<div{self.attrs('share-bar sharedaddy')}><h3>{self.phrase('share', 0)}</h3>"
            f"{links}</div>"
        )

    def newsletter(self) -> str:
        return (
            f"<{self.tag('aside')}{self.attrs('newsletter-signup')}>"
            f"<h3>{self.phrase('subscribe', 0)}</h3><p>{self.phrase('subscribe', 1)}</p>"
            f'<form action="/subscribe"><input type="email" name="email">'
            f"<button>{self.phrase('subscribe', 2)}</button></form></{self.tag('aside')}>"
        )

    def signoff(self) -> str:
        """A closing paragraph thanking the reader: boilerplate written as prose."""
        return f"<p><em>{self.phrase('sign-off')}</em></p>"

    def pitch(self) -> str:
        """A newsletter pitch written as full sentences, between the article's paragraphs."""
        return f"<p><strong>{self.phrase('pitch')}</strong></p>"

    def teasers(self) -> str:
        """Related stories as cards: a linked title and a one-sentence teaser each."""
        cards = "".join(
            f"<div{self.attrs('card')}><h3><a href='/t{i}'>"
            f"{self.bp('related', 'related title', title)}</a></h3>"
            f"<p>{self.bp('teaser', 'teaser', self.fill(self.sentences.pop()))}</p></div>"
            for i, title in enumerate(self.related[:4])
        )
        return (
            f"<{self.tag('aside')}{self.attrs('more-stories')}><h2>{self.phrase('related')}</h2>"
            f"{cards}</{self.tag('aside')}>"
        )

    def related_posts(self) -> str:
        titles = "".join(
            f'<li><a href="/r{i}">{self.bp("related", "related title", title)}</a></li>'
            for i, title in enumerate(self.related[:3])
        )
        return (
            f"<{self.tag('section')}{self.attrs('related-posts')}>"
            f"<h3>{self.phrase('related')}</h3><ul>{titles}</ul></{self.tag('section')}>"
        )

    def comments(self, count: int, form: bool) -> str:
        texts = self.rng.sample(self.lang.comments, count)
        template = self.lang.boilerplate["comments"][0]
        header = self.bp("comments", template, self.fill(template, n=str(count)))
        items = []
        for i, text in enumerate(texts):
            author = self.rng.choice(self.lang.names)
            items.append(
                f"<li{self.attrs('comment')}><div{self.attrs('comment-author')}>"
                f"<b>{html.escape(author)}</b></div>"
                f"<div{self.attrs('comment-content')}><p>"
                f"{self.bp('comment text', 'reader comment', text)}</p></div>"
                f'<a href="#c{i}"{self.attrs("comment-reply-link")}>{self.phrase("comments", 1)}'
                "</a></li>"
            )
        thread = f"<h2>{header}</h2><ol>{''.join(items)}</ol>"
        return (
            f'<{self.tag("section")} id="{"comments" if self.telling else "x1"}"'
            f"{self.attrs('comments-area')}>{thread}"
            f"{self.reply_form() if form else ''}</{self.tag('section')}>"
        )

    def reply_form(self) -> str:
        return (
            f"<div{self.attrs('comment-respond')}><h3>{self.phrase('comment form', 0)}</h3>"
            f'<form action="/wp-comments-post.php" method="post">'
            f"<p>{self.phrase('comment form', 1)} {self.phrase('comment form', 2)}</p>"
            '<textarea name="comment"></textarea><input name="author"><input name="email">'
            f'<p><input type="checkbox"> {self.phrase("comment form", 3)}</p>'
            f'<input type="submit" value="{self.phrase("comment form", 4)}">'
            f"<button>{self.phrase('comment form', 4)}</button></form></div>"
        )

    def footer(self) -> str:
        return (
            f"<{self.tag('footer')}{self.attrs('site-footer')}>{self.menu('footer-menu')}"
            f"<p>{self.phrase('copyright')}</p></{self.tag('footer')}>"
        )

    def document(self, title: str, content: str) -> str:
        return (
            f'<!DOCTYPE html><html lang="{self.lang.code}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body>{content}</body></html>"
        )


def _news(b: _Builder) -> tuple[str, str]:
    title = b.fill(b.rng.choice(b.lang.titles))
    extras = {1: b.ad()}
    if b.rng.random() < 0.6:
        extras[2] = b.read_more()
    if b.rng.random() < 0.5:
        extras[3] = b.quote()
    if b.rng.random() < 0.4:
        extras[0] = b.items()
    if b.rng.random() < 0.3:
        extras[4] = b.table()
    if b.rng.random() < 0.5:
        extras[5] = b.short()
    around = [b.share(), b.related_posts()]
    if b.rng.random() < 0.4:
        around.append(b.comments(b.rng.randint(2, 3), form=True))
    if b.rng.random() < 0.5:
        around.append(b.newsletter())
    inner = "".join(around) if b.inside else ""
    outer = "" if b.inside else "".join(around)
    article = (
        f"<article{b.attrs('post')}><h1>{html.escape(title)}</h1>"
        f"<p{b.attrs('byline')}>{b.neutral(b.lang.byline)}</p>"
        f"{''.join(b.paragraphs(6, extras))}{inner}</article>"
    )
    cookie = b.cookie() if b.rng.random() < 0.5 else ""
    return title, f"{b.menu('main-nav')}{cookie}<main>{article}{outer}</main>{b.footer()}"


def _blog(b: _Builder) -> tuple[str, str]:
    title = b.fill(b.rng.choice(b.lang.titles))
    extras: dict[int, str] = {}
    if b.rng.random() < 0.5:
        extras[1] = b.items()
    if b.rng.random() < 0.4:
        extras[2] = b.code()
    if b.rng.random() < 0.5:
        extras[3] = b.short()
    around = [
        b.share(),
        b.related_posts(),
        b.comments(b.rng.randint(3, 5), form=True),
    ]
    inner = "".join(around) if b.inside else ""
    outer = "" if b.inside else "".join(around)
    entry = f"<div{b.attrs('entry-content')}>{''.join(b.paragraphs(5, extras))}</div>"
    article = (
        f"<article{b.attrs('post type-post hentry')}><header><h1>{html.escape(title)}</h1>"
        f"<span>{b.neutral(b.lang.byline)}</span></header>{entry}{inner}</article>"
    )
    sidebar = f"<{b.tag('aside')}{b.attrs('widget-area')}>{b.newsletter()}</{b.tag('aside')}>"
    cookie = b.cookie() if b.rng.random() < 0.5 else ""
    return (
        title,
        f"{b.menu('main-navigation')}<div>{article}{outer}</div>{sidebar}{b.footer()}{cookie}",
    )


def _forum(b: _Builder) -> tuple[str, str]:
    title = b.fill(b.rng.choice(b.lang.titles))

    def post(author: str, content: str, index: int) -> str:
        details = (
            f"<div{b.attrs('message-userDetails')}><b>{html.escape(author)}</b>"
            f"<dl><dd>{b.phrase('forum', 1)}</dd></dl></div>"
        )
        quote = b.phrase("forum", 2)
        actions = f'<div{b.attrs("message-actionBar")}><a href="#q{index}">{quote}</a></div>'
        wrapper = "div" if b.inside else "article"
        return (
            f'<{wrapper}{b.attrs("message message--post")} id="post-{index}">{details}'
            f"<div{b.attrs('bbWrapper')}>{content}</div>{actions}</{wrapper}>"
        )

    extras = {1: b.items()} if b.rng.random() < 0.3 else None
    br = b.rng.random() < 0.5  # forum software often writes paragraphs as text and <br>
    posts = [post(b.rng.choice(b.lang.names), "".join(b.paragraphs(4, extras, br)), 0)]
    for i, text in enumerate(b.rng.sample(b.lang.comments, b.rng.randint(3, 5)), start=1):
        content = f"<p>{b.bp('comment text', 'reader comment', text)}</p>"
        posts.append(post(b.rng.choice(b.lang.names), content, i))
    thread = "".join(posts)
    if b.inside:
        thread = f"<article{b.attrs('thread')}>{thread}</article>"
    login = f"<div{b.attrs('block-outer')}><p>{b.phrase('forum', 0)}</p></div>"
    cookie = b.cookie() if b.rng.random() < 0.5 else ""
    return title, (
        f"{b.menu('p-nav')}{cookie}<div{b.attrs('p-body')}><h1>{html.escape(title)}</h1>"
        f"{thread}{login}</div>{b.footer()}"
    )


def _magazine(b: _Builder) -> tuple[str, str]:
    title = b.fill(b.rng.choice(b.lang.titles))
    pull = html.escape(b.rng.choice(b.lang.quotes))
    caption = b.neutral(b.lang.caption)
    figure = f'<figure><img src="/depot.jpg" alt=""><figcaption>{caption}</figcaption></figure>'
    parts: list[str] = [figure]
    extras = {1: b.ad(), 4: b.read_more()}
    paragraphs = b.paragraphs(9, extras)
    if b.rng.random() < 0.5:  # a drop cap: the first letter in its own span
        first = paragraphs[0]
        paragraphs[0] = f"<p><span{b.attrs('dropcap')}>{first[3]}</span>{first[4:]}"
    for i, paragraph in enumerate(paragraphs):
        if i in (3, 7):
            parts.append(b.heading())
        if i == 2:
            parts.append(f"<aside{b.attrs('pullquote')}><p>{pull}</p></aside>")
        if i == 6 and b.inside:
            parts.append(b.newsletter())
        parts.append(paragraph)
    if b.rng.random() < 0.4:
        parts.append(b.table())
    around = [b.share(), b.related_posts()]
    if not b.inside:
        around.append(b.newsletter())
    inner = "".join(around) if b.inside else ""
    outer = "" if b.inside else "".join(around)
    article = (
        f"<article{b.attrs('longform')}><h1>{html.escape(title)}</h1>"
        f"<p{b.attrs('byline')}>{b.neutral(b.lang.byline)}</p>{''.join(parts)}{inner}</article>"
    )
    cookie = b.cookie() if b.rng.random() < 0.5 else ""
    return title, f"{cookie}{b.menu('site-nav')}<main>{article}{outer}</main>{b.footer()}"


def _howto(b: _Builder) -> tuple[str, str]:
    """A how-to post that is mostly structure: steps, code, a captioned table, a long quote,
    a run of very short paragraphs; a thank-you sign-off closes it."""
    title = b.fill(b.rng.choice(b.lang.titles))
    parts = [
        b.paragraph("first"),
        b.heading(),
        b.items(),
        b.code(),
        b.paragraph("middle"),
        b.table(caption=True),
        b.linked(),
        b.lookalike(),
        b.long_quote(),
        b.short_run(),
        b.paragraph("last"),
        b.signoff(),
    ]
    around = [b.share(), b.related_posts()]
    if b.rng.random() < 0.5:
        around.append(b.comments(b.rng.randint(3, 4), form=True))
    inner = "".join(around) if b.inside else ""
    outer = "" if b.inside else "".join(around)
    entry = f"<div{b.attrs('entry-content')}>{''.join(parts)}</div>"
    article = (
        f"<article{b.attrs('post hentry')}><h1>{html.escape(title)}</h1>{entry}{inner}</article>"
    )
    sidebar = f"<{b.tag('aside')}{b.attrs('sidebar')}>{b.newsletter()}</{b.tag('aside')}>"
    cookie = b.cookie() if b.rng.random() < 0.5 else ""
    return title, f"{b.menu('main-nav')}{cookie}<div>{article}{outer}</div>{sidebar}{b.footer()}"


def _brief(b: _Builder) -> tuple[str, str]:
    """A news brief of a single paragraph, with more text in teaser cards around it than in
    the article."""
    title = b.fill(b.rng.choice(b.lang.titles))
    around = [b.teasers(), b.newsletter()]
    inner = "".join(around) if b.inside else ""
    outer = "" if b.inside else "".join(around)
    article = (
        f"<article{b.attrs('post')}><h1>{html.escape(title)}</h1>"
        f"<p{b.attrs('byline')}>{b.neutral(b.lang.byline)}</p>{b.paragraph('only')}{inner}"
        "</article>"
    )
    cookie = b.cookie() if b.rng.random() < 0.5 else ""
    return title, f"{b.menu('main-nav')}{cookie}<main>{article}{outer}</main>{b.footer()}"


def _split(b: _Builder) -> tuple[str, str]:
    """A long read whose text is cut into sibling sections by an ad and a newsletter pitch
    written as prose; a thank-you sign-off closes it."""
    title = b.fill(b.rng.choice(b.lang.titles))
    section = b.attrs("article-body__section")  # the same class on every section
    sections = [
        [b.paragraph("first"), b.paragraph("middle"), b.short()],
        [b.heading(), b.paragraph("middle"), b.quote(), b.paragraph("middle")],
        [b.paragraph("middle"), b.items(), b.paragraph("last"), b.signoff()],
    ]
    breaks = [b.ad(), f"<div{b.attrs('inline-newsletter')}>{b.pitch()}</div>"]
    body = "".join(
        f"<div{section}>{''.join(parts)}</div>{breaks[i] if i < len(breaks) else ''}"
        for i, parts in enumerate(sections)
    )
    around = [b.share(), b.related_posts()]
    inner = "".join(around) if b.inside else ""
    outer = "" if b.inside else "".join(around)
    article = (
        f"<article{b.attrs('longform')}><h1>{html.escape(title)}</h1>"
        f"<p{b.attrs('byline')}>{b.neutral(b.lang.byline)}</p>{body}{inner}</article>"
    )
    cookie = b.cookie() if b.rng.random() < 0.5 else ""
    return title, f"{cookie}{b.menu('site-nav')}<main>{article}{outer}</main>{b.footer()}"


_LAYOUT_BUILDERS: dict[str, Callable[[_Builder], tuple[str, str]]] = {
    "news": _news,
    "blog": _blog,
    "forum": _forum,
    "magazine": _magazine,
    "howto": _howto,
    "brief": _brief,
    "split": _split,
}
MARKUPS = ("telling/outside", "telling/inside", "plain/outside", "plain/inside")


def build_pages(variants: int, seed: int) -> list[Page]:
    pages = []
    for li, layout in enumerate(LAYOUTS):
        for ci, (code, lang) in enumerate(LANGS.items()):
            for variant in range(variants):
                rng = random.Random(f"{seed}/{layout}/{code}/{variant}")
                markup = MARKUPS[(variant + li + ci) % len(MARKUPS)]  # evenly spread
                url = f"https://{code}.example.org/{layout}/{variant}.html"
                page = Page(layout, code, markup, url)
                builder = _Builder(rng, lang, page)
                title, content = _LAYOUT_BUILDERS[layout](builder)
                page.html = builder.document(title, content)
                _drop_phrases_in_body(page)
                pages.append(page)
    return pages


def _drop_phrases_in_body(page: Page) -> None:
    """Unplant boilerplate that the body also contains (it could not be told apart) and repeats."""
    body = normalize(" ".join(piece.text for piece in page.body))
    seen: set[str] = set()
    kept = []
    for piece in page.boilerplate:
        text = normalize(piece.text)
        if text and text not in seen and not _occurs(text, body):
            seen.add(text)
            kept.append(piece)
    page.boilerplate = kept


# --- scoring ---------------------------------------------------------------------------------


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _occurs(phrase: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def leaked(page: Page, output: str) -> list[Piece]:
    """The planted phrases found in ``output``, each outside the longer phrases containing it."""
    text = normalize(output)
    phrases = [normalize(piece.text) for piece in page.boilerplate]
    found = []
    for piece, phrase in zip(page.boilerplate, phrases, strict=True):
        rest = text
        for longer in phrases:
            if longer != phrase and phrase in longer:
                rest = rest.replace(longer, " ")
        if _occurs(phrase, rest):
            found.append(piece)
    return found


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _shingles(tokens: list[str], size: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def kept(page: Page, output: str) -> list[tuple[Piece, int, int]]:
    """Per body piece: (piece, shingles found in ``output``, shingles of the piece)."""
    tokens = _tokens(output)
    found: dict[int, Counter[tuple[str, ...]]] = {}
    result = []
    for piece in page.body:
        own = _tokens(piece.text)
        size = min(SHINGLE, len(own))
        if size == 0:
            continue
        if size not in found:
            found[size] = _shingles(tokens, size)
        wanted = _shingles(own, size)
        result.append((piece, sum((wanted & found[size]).values()), sum(wanted.values())))
    return result


@dataclass
class Outcome:
    page: Page
    failed: bool
    millis: float
    leaked: list[Piece]
    kept: list[tuple[Piece, int, int]]


def run(pages: list[Page], extractor: Callable[[Page], str | None]) -> list[Outcome]:
    outcomes = []
    for page in pages:
        start = time.process_time()
        output = extractor(page)
        millis = (time.process_time() - start) * 1000
        text = output or ""
        outcomes.append(Outcome(page, not output, millis, leaked(page, text), kept(page, text)))
    return outcomes


def ours(page: Page) -> str | None:
    try:
        return extract(page.html.encode("utf-8"), page.url).text
    except ExtractError:
        return None


def plain_trafilatura(page: Page) -> str | None:
    return trafilatura.extract(page.html, url=page.url, include_comments=False)


# --- report ----------------------------------------------------------------------------------


def _summary(outcomes: list[Outcome]) -> str:
    planted = sum(len(o.page.boilerplate) for o in outcomes)
    leaks = sum(len(o.leaked) for o in outcomes)
    found = sum(hit for o in outcomes for _, hit, _ in o.kept)
    total = sum(size for o in outcomes for _, _, size in o.kept)
    millis = sorted(o.millis for o in outcomes)
    p95 = millis[min(len(millis) - 1, round(0.95 * (len(millis) - 1)))]
    failed = sum(o.failed for o in outcomes)
    return (
        f"{100 * leaks / planted:6.2f} {100 * found / total:6.2f} {failed:4d}"
        f" {statistics.median(millis):6.1f} {p95:6.1f}"
    )


def report(results: dict[str, list[Outcome]], top: int) -> None:
    names = list(results)
    first = results[names[0]]
    head = f"{'leaked%':>7} {'kept%':>6} {'fail':>4} {'med ms':>6} {'p95':>6}"
    print(f"{'':<18} {'pages':>5}   " + "   ".join(f"{n:^33}" for n in names))
    print(f"{'group':<18} {'':>5}   " + "   ".join(head for _ in names))
    groups: list[tuple[str, Callable[[Page], bool]]] = [("all", lambda p: True)]
    groups += [(f"lang {c}", lambda p, c=c: p.lang == c) for c in LANGS]
    groups += [(f"layout {n}", lambda p, n=n: p.layout == n) for n in LAYOUTS]
    groups += [(m, lambda p, m=m: p.markup == m) for m in MARKUPS]
    for label, keep in groups:
        indices = [i for i, o in enumerate(first) if keep(o.page)]
        if not indices:
            continue
        cells = [_summary([results[n][i] for i in indices]) for n in names]
        print(f"{label:<18} {len(indices):5d}   " + "   ".join(cells))

    mine = results[names[0]]
    _top_leaks(mine, top)
    _top_losses(mine, top)


def _top_leaks(outcomes: list[Outcome], top: int) -> None:
    planted: Counter[str] = Counter()
    leaks: Counter[str] = Counter()
    example: dict[str, str] = {}
    for o in outcomes:
        for piece in o.page.boilerplate:
            planted[piece.key] += 1
        for piece in o.leaked:
            leaks[piece.key] += 1
            example.setdefault(piece.key, f"{piece.kind}: {piece.text}")
    print("\nmost-leaked phrases (ours): leaked/planted, kind: example")
    for key, count in leaks.most_common(top):
        print(f"  {count:4d}/{planted[key]:<4d} {_clip(example[key])}")
    if not leaks:
        print("  none")


def _top_losses(outcomes: list[Outcome], top: int) -> None:
    pieces: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    example: dict[str, str] = {}
    for o in outcomes:
        for piece, hit, size in o.kept:
            key = f"{o.page.lang} {piece.key}"
            pieces[key] += 1
            missing[key] += size - hit
            if hit < size / 2:
                lost[key] += 1
                example.setdefault(key, f"{o.page.markup}: {piece.text}")
    print("\nmost-lost body pieces (ours): pieces less than half kept/pieces, lang layout kind")
    for key, count in lost.most_common(top):
        print(f"  {count:4d}/{pieces[key]:<4d} {key:<30} {_clip(example[key], 70)}")
    if not lost:
        partial = [(k, n) for k, n in missing.most_common(top) if n]
        print("  none" if not partial else "  none; shingles missed by piece:")
        for key, count in partial:
            print(f"  {count:4d} {key}")


def _clip(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=10, help="pages per layout and language")
    parser.add_argument("--seed", type=int, default=5, help="seed of the generated corpus")
    parser.add_argument("--top", type=int, default=10, help="how many leaks and losses to list")
    args = parser.parse_args(None if argv is None else list(argv))

    pages = build_pages(args.variants, args.seed)
    planted = sum(len(p.boilerplate) for p in pages)
    pieces = sum(len(p.body) for p in pages)
    print(
        f"{len(pages)} pages ({len(LAYOUTS)} layouts x {len(LANGS)} languages x"
        f" {args.variants}, seed {args.seed}): {planted} boilerplate phrases, {pieces} body"
        " pieces"
    )
    results = {"aggregator": run(pages, ours), "trafilatura": run(pages, plain_trafilatura)}
    report(results, args.top)


if __name__ == "__main__":
    main()
