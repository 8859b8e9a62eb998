"""The line filter: short lines that are boilerplate, in English, German, French and Spanish."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable


def _rule(limit: int, *patterns: str) -> tuple[int, str]:
    """Patterns anchored at the start of a line that are boilerplate up to ``limit`` chars, as
    one regex source (compiled below with the other rules that apply at the same lengths).

    They are matched against the lowercased line (IGNORECASE makes them several times slower).
    """
    return limit, _any_of(patterns)


def _any_of(patterns: Iterable[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


# In the patterns, \u2013 is an en dash, \u2018 a left single quote, \u203a a single guillemet.
_END = r"[\s.:!…»\u203a>→|*-]*$"  # trailing punctuation a prompt may carry
_SHARE_ITEM = (
    r"(?:share|sharing|teilen|partager|compartir|tweet|pin(?: it)?|e-?mail|print|drucken"
    r"|imprimer|imprimir|copy link|link kopieren|whatsapp|facebook|twitter|x|linkedin|reddit"
    r"|pinterest|telegram|messenger|flipboard|xing|bluesky|threads|mastodon)"
    r"(?: (?:this|the|it|diesen|den|cet|cette|este|esta))?"
    r"(?: (?:article|story|post|page|link|artikel|beitrag|artículo|noticia|nota))?"
    r"(?: (?:on|via|with|to|auf|per|über|sur|par|en|por) [\w.-]+)?"
    r"|(?:auf|per|via|über) [\w.-]+ teilen"
)
_SHARE_SEP = r"[\s|·•,/:\u2013—-]+"

# The heading of a section of links to other articles.
_RELATED = (
    r"(?:related (?:posts?|articles?|stories|content|coverage|reading|links|topics|news)"
    r"|more (?:stories|articles|news)|you (?:may|might) also (?:like|enjoy)"
    r"|recommended(?: for you| stories| articles| reading)?|popular (?:posts|stories)"
    r"|most (?:read|popular|viewed|shared)|trending(?: now)?|don't miss"
    r"|verwandte (?:artikel|beiträge|themen)|ähnliche (?:artikel|beiträge)"
    r"|das könnte sie auch interessieren|meistgelesen|articles (?:similaires|liés|connexes)"
    r"|à lire également|artículos relacionados|noticias relacionadas|entradas relacionadas"
    r"|publicaciones relacionadas|artículos similares|lo más leído)" + _END
)
_RELATED_LIMIT = 100

_BOILERPLATE_RULES = (
    # Copyright and rights notices.
    _rule(
        200,
        r"(?:©|\(c\) ?(?:\d{4}|copyright)|copyright\s*(?:©|\(c\)|\d{4}|by\b|:))",
        r"(?:all rights reserved|alle rechte vorbehalten|tous droits réservés"
        r"|(?:todos los )?derechos reservados)\b",
        r".{0,150}\b(?:all rights reserved|alle rechte vorbehalten|tous droits réservés"
        r"|(?:todos los )?derechos reservados)[\s.)]*$",
        r"this material may not be published, broadcast, rewritten,? (?:or|and) redistributed",
    ),
    # Advertising labels.
    _rule(
        80,
        r"(?:advertisement|advertising|ad|ads|anzeige|werbung|publicité|publicidad|pub"
        r"|sponsored(?: content)?|paid content)" + _END,
        r"(?:story|article|text|content) continues (?:below|after)(?: (?:this|the))?"
        r" (?:advertisement|ad)s?" + _END,
        r"advertisement\b.{0,40}\b(?:scroll|continue)",
        r"scroll (?:down )?to continue(?: reading| with content)?" + _END,
        r"weiter nach der anzeige" + _END,
        r"la suite après (?:cette |la )?publicité" + _END,
    ),
    # "Read more: <other story>" teasers and "continue reading" links.
    _rule(
        200,
        r"(?:read more|read also|also read|read next|see also|related|related articles?"
        r"|related stories|related coverage|more on this(?: story| topic)?|lesen sie auch"
        r"|lesen sie mehr|mehr zum thema|auch interessant|weiterlesen|mehr dazu|lire aussi"
        r"|à lire aussi|a lire aussi|lire la suite|voir aussi|sur le même sujet|leer más"
        r"|lea también|lee también|te puede interesar|ver también)\s*[:»\u203a>→|\u2013—]",
        r"(?:read more|continue reading|read the full (?:story|article)|weiterlesen|mehr lesen"
        r"|lire la suite|leer más|seguir leyendo)" + _END,
        r"continue reading\b.{0,100}[→»\u203a]$",
        r"the post .{1,150} appeared first on .{1,100}$",
    ),
    # Headings of related-content, author and reader-response sections.
    _rule(
        _RELATED_LIMIT,
        _RELATED,
        r"more from [^.!?:;,]{1,70}$",
        r"recommended from [^.!?]{1,40}$",
        r"[\d.,]+[km]? followers$",
        r"(?:follow|listen|write a response|what are your thoughts\?|responses \(\d+\))" + _END,
    ),
    # Comment forms and threads.
    _rule(
        200,
        r"leave a (?:reply|comment|response)\b",
        r"your email address will not be published\b",
        r"required fields are marked\b",
        r"save my name, email,? and website in this browser\b",
        r"you must be (?:logged|signed) in to post a comment",
        r"you must (?:log in|sign in)(?: or (?:register|sign up))? to (?:reply|post|comment)\b",
        r"sie müssen sich (?:anmelden|einloggen)(?: oder registrieren)?,? um (?:hier )?"
        r"(?:zu antworten|zu kommentieren|einen kommentar)",
        r"vous devez vous connecter(?: ou vous inscrire)? pour (?:répondre|commenter)",
        r"debes iniciar sesión(?: o registrarte)? para (?:responder|comentar)",
        r"notify me of (?:follow-up comments|new posts)",
        r"this site uses akismet to reduce spam",
        r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
        r" (?:thoughts?|comments?|responses?|replies|reactions?) (?:on|to) [“\"«„\u2018'].*",
        r"(?:cancel reply|post comment|submit comment|add (?:a )?comment|join the (?:discussion"
        r"|conversation)|comments are closed|no comments(?: yet)?|be the first to comment"
        r"|(?:show|view|load) comments|\d+ (?:comments?|responses?|replies))" + _END,
        r"(?:schreibe|schreiben sie|hinterlasse|hinterlassen sie) (?:einen|eine)"
        r" (?:kommentar|antwort)\b",
        r"(?:deine|ihre) e-?mail-?adresse wird nicht veröffentlicht",
        r"erforderliche felder sind (?:mit \*? ?)?markiert",
        r"(?:antworten abbrechen|kommentar abschicken|kommentar absenden|\d+ kommentare?)" + _END,
        r"lais(?:ser|sez) une? (?:commentaire|réponse)\b",
        r"(?:votre|ton) adresse (?:e-?mail|de messagerie|courriel) ne sera pas publiée",
        r"les champs obligatoires sont (?:indiqués|marqués)",
        r"(?:annuler (?:la )?réponse|\d+ commentaires?)" + _END,
        r"deja (?:un comentario|una respuesta)\b",
        r"(?:tu|su) (?:dirección de )?correo(?: electrónico)? no (?:será|se) publica",
        r"los campos obligatorios están marcados",
        r"(?:cancelar (?:la )?respuesta|publicar comentario|\d+ comentarios?)" + _END,
    ),
    # Share bars and follow prompts.
    _rule(
        160,
        rf"(?:{_SHARE_ITEM})(?:{_SHARE_SEP}(?:{_SHARE_ITEM}))*" + _END,
        r"share (?:this|the) (?:article|story|post|page)\b",
        r"(?:follow us|folgen sie uns|suivez-nous|síguenos) (?:on|auf|sur|en)\b",
    ),
    # Newsletter and subscription prompts.
    _rule(
        160,
        r"(?:subscribe|sign up|signup|register)(?: now| today| free)? (?:for|to)\b.{0,50}?"
        r"\b(?:newsletters?|mailing list|e-?mail (?:list|updates|alerts)|inbox)\b",
        r"subscribe(?: now| today| here| for free)?" + _END,
        r"(?:get|receive|have) .{0,60}(?:delivered|sent) (?:straight |directly |right )?"
        r"to your inbox",
        r"(?:you can )?unsubscribe (?:at any time|anytime)",
        r"(?:by subscribing|by signing up|already a subscriber)\b",
        r"(?:jetzt )?(?:(?:den|unseren|zum) )?newsletter (?:abonnieren|bestellen|anmelden)\b",
        r"(?:melden sie sich|abonnieren sie)\b.{0,60}newsletter",
        r"jetzt abonnieren" + _END,
        r"abonnez-vous\b",
        r"(?:inscrivez-vous|recevez)\b.{0,60}(?:newsletter|lettre d'information)",
        r"suscr[ií]b(?:ete|ase)\b",
        r"(?:reg[ií]strate|recibe)\b.{0,60}(?:boletín|newsletter)",
    ),
    # Newsletter pitches written as sentences: a sign-up verb and "our newsletter", or the
    # news "every morning in your inbox", anywhere in a short line.
    _rule(
        200,
        r"(?=.*\b(?:sign up|subscribe|register|join|get|abonnieren|anmelden|bestellen|abonnez"
        r"|inscrivez|recevez|suscr[ií]b(?:ete|ase)|reg[ií]strate|recibe)\b)"
        r".*\b(?:our|unseren?|notre|nos|nuestros?|nuestras?)(?: [\w-]+){0,2}"
        r" (?:newsletters?|boletín|boletines|lettres? d'information)\b",
        r"(?=.*\b(?:every (?:morning|day|evening|week|friday|weekday)|daily|weekly"
        r"|jeden (?:morgen|tag|abend)|täglich|wöchentlich|chaque (?:matin|jour|soir|semaine)"
        r"|tous les (?:matins|jours)|cada (?:mañana|día|semana)|todos los días)\b)"
        r"(?=.*\b(?:news|stories|headlines|newsletter|nachrichten|schlagzeilen|actualité"
        r"|infos|informations|nouvelles|noticias|titulares|boletín)\b)"
        r".*\b(?:(?:in|to) your inbox|in (?:ihr(?:em)?|dein(?:em)?) (?:e-mail-)?postfach"
        r"|dans (?:votre|ta) boîte (?:mail|e-mail|aux lettres|de réception)"
        r"|en (?:tu|su) (?:correo|bandeja de entrada|email))\b",
    ),
    # Sign-offs thanking the reader or asking whether they liked the piece.
    _rule(
        200,
        r"(?:thanks|thank you) for reading\b",
        r"(?:if you|did you) (?:enjoy|enjoyed|like|liked) (?:this|the|our)"
        r" (?:article|post|story|piece|recipe|report|interview|guide|tutorial|newsletter)\b",
        r"danke (?:fürs|für das|für's) lesen\b",
        r"(?:wenn (?:ihnen|dir)|(?:hat|haben) (?:ihnen|dir)) (?:dieser|diese|der|das|unser)"
        r" (?:artikel|beitrag|text|bericht|rezept|interview|newsletter|ratgeber) gefallen\b",
        r"merci (?:de (?:votre|ta) lecture|d'avoir lu|pour (?:votre|ta) lecture)\b",
        r"(?:si )?(?:cet|cette|ce) (?:article|billet|texte|reportage|recette|entretien|tutoriel"
        r"|dossier) vous a plu\b",
        r"¡?gracias por (?:leer|tu lectura|su lectura)\b",
        r"¿?(?:si )?te ha gustado (?:este|esta) (?:artículo|entrada|post|nota|reportaje|receta"
        r"|entrevista|tutorial|guía)\b",
    ),
    # Cookie notices.
    _rule(
        400,
        r"(?:this (?:web)?site|we|our (?:web)?site) uses? cookies\b",
        r"by (?:continuing to (?:browse|use)|using) (?:this|our) (?:web)?site\b.{0,200}cookies",
        r"(?:accept|allow|reject|decline|manage) (?:all )?cookies" + _END,
        r"cookie (?:settings|preferences|policy)" + _END,
        r"(?:diese (?:web)?(?:seite|site)|wir) (?:verwendet|verwenden|nutzt|nutzen) cookies\b",
        r"(?:ce site(?: web)?|nous) (?:utilise|utilisons) des cookies\b",
        r"en poursuivant votre navigation\b",
        r"(?:este sitio(?: web)?|esta (?:web|página)|utilizamos|usamos)"
        r" (?:utiliza |usa )?cookies\b",
    ),
)
# One regex per length limit, of all the rules that apply to a line that long: a line is tried
# in a single match instead of one per rule.
_LIMITS = sorted({limit for limit, _ in _BOILERPLATE_RULES})
_RULES_UP_TO = [
    re.compile(_any_of(pattern for limit, pattern in _BOILERPLATE_RULES if limit >= up_to))
    for up_to in _LIMITS
]
_LONGEST_RULE = _LIMITS[-1]
_DECORATION = " -\u2013—•·*|_=~"  # around labels such as "- Advertisement -"


_RELATED_HEADING = re.compile(_RELATED)


def is_related_heading(line: str) -> bool:
    """Whether a line is the heading of a related-content section ("Related posts",
    "Ähnliche Beiträge", "Articles similaires", "Entradas relacionadas")."""
    text = _normalize(line)
    return len(text) <= _RELATED_LIMIT and _RELATED_HEADING.match(text) is not None


def is_boilerplate_line(line: str) -> bool:
    """Whether a line of text is boilerplate (copyright, ads, teasers, prompts, notices).

    Every pattern applies only to short lines and is anchored at the start of the line, but
    for newsletter pitches, which need several words together anywhere in the line (a sign-up
    verb and "our newsletter"; news, "every morning" and "in your inbox"): a sentence that
    merely mentions "copyright law" or "subscribe" is never dropped.
    """
    text = _normalize(line)
    return len(text) <= _LONGEST_RULE and _matches_a_rule(text)


@functools.lru_cache(maxsize=4096)  # a site's menus, footers and labels repeat on every page
def _matches_a_rule(text: str) -> bool:
    """Whether a rule whose limit ``text`` does not exceed matches it."""
    rules = _RULES_UP_TO[bisect.bisect_left(_LIMITS, len(text))]
    return rules.match(text) is not None


def _normalize(line: str) -> str:
    return " ".join(line.split()).strip(_DECORATION).lower()
