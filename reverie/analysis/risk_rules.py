"""The crisis gate's rules: what it looks for, as data the screen runs (``reverie.analysis.risk``).

Each rule of ``RULE_TABLE`` is ``(label, level, kind, triggers, pattern)``: the pattern runs
only when one of its trigger words occurs in the lower-cased message. Every apostrophe in a
pattern is optional ("dont" = "don't"). Beside the rules: the words that cancel a finding
(figures of speech, accidents), talk about someone else's suicide, negation and the past
(which lower a finding's level), and what an outgoing reply must never contain.

To add a rule, add a row to ``RULE_TABLE`` and a sentence to ``tests/unit/test_risk.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BOUNDARY",
    "EXCLUSIONS",
    "HARM_TO_OTHERS",
    "MEANS_NAMED",
    "MEANS_NAMED_WORDS",
    "MENTION",
    "METHOD_INFORMATION",
    "NEGATION",
    "NOT_A_NAME",
    "PAST",
    "REACH",
    "RULE_TABLE",
    "SUICIDAL",
    "Rule",
    "compile_rules",
    "rx",
]


def rx(source: str) -> re.Pattern[str]:
    """``source`` compiled with every apostrophe optional, so "dont", "im" and "won't" match."""
    return re.compile(source.replace("'", "'?"))


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: what a match means (label, level, kind) and how to find it."""

    label: str
    level: str
    kind: str
    triggers: tuple[str, ...]  # every match contains one of these: a cheap test before the regex
    pattern: re.Pattern[str]
    boundary: bool = False  # the match must start a word (checked here: a leading \b slows re down)
    subject: re.Pattern[str] | None = None  # must match the words just before, up to the match


def rule(label: str, level: str, kind: str, triggers: tuple[str, ...], source: str) -> Rule:
    """One row of ``RULE_TABLE`` compiled."""
    # Python's re scans for a literal prefix fast, but not after a leading \b: drop it and
    # check the word boundary in code instead.
    boundary = source.startswith("\\b")
    return Rule(label, level, kind, triggers, rx(source[2:] if boundary else source), boundary)


# The rules and word lists below are laid out by hand, as a table: the formatter leaves them be.
# fmt: off
# Shared fragments of the rules below.
_SELF = r"my ?self"
_MEANS = (
    r"(?:pills?|tablets?|capsules?|meds|medications?|paracetamol|acetaminophen|tylenol|"
    r"insulin|rope|noose|guns?|pistol|rifle|shotgun|bullets|razors?|blades?|knife|poison)"
)
_PERSON = (
    r"(?:boss|ex|husband|wife|partner|boyfriend|girlfriend|bf|gf|mother|mom|mum|father|dad|"
    r"brother|sister|son|daughter|kids?|children|child|baby|family|parents?|step\w+|uncle|aunt|"
    r"cousin|grand\w+|friends?|roommate|flatmate|neighbou?rs?|colleagues?|co-?workers?|manager|"
    r"teacher|classmates?|landlord|therapist|doctor|abuser|bully|fianc\w*|in-laws?|\w+-in-law|"
    r"niece|nephew|guy|man|woman|girl|boy|person|idiot|bastard|bitch|prick|people)"
)
_VICTIM = (
    rf"(?:him|her|them|you|someone|somebody|anyone|everyone|everybody|people|"
    rf"(?:my|his|her|their|your|our|the|that|this|those|these)\s+(?:[\w']+\s+)?{_PERSON}|"
    rf"(?:his|her|their)\s+(?:face|head|neck|throat|skull|teeth|legs?|arms?))\b"
)
_HARM_VERB = (
    r"(?:kill(?:ing)?|murder(?:ing)?|hurt(?:ing)?|stab(?:bing)?|shoot(?:ing)?|strangl(?:e|ing)|"
    r"chok(?:e|ing)|poison(?:ing)?|beat(?:ing)? (?:up|the (?:hell|shit|crap|living daylights) out of)|"
    r"punch(?:ing)?|attack(?:ing)?|"
    r"smother(?:ing)?|harm(?:ing)?|batter(?:ing)?|smash(?:ing)?|bash(?:ing)?|break(?:ing)?|slash(?:ing)?|"
    r"run(?:ning)? over)"
)
_WILL = (
    r"(?:\b'll\b|\b'd\b|\s+(?:\w+\s+){0,3}?(?:want(?:ed)? to|wanna|going to|gonna|will|could|would|might|"
    r"feel like|about to|plan(?:ning)? to|fantasi[sz]e about|fantasi[sz]ing about|think(?:ing)? "
    r"(?:about|of)|thoughts? (?:about|of)|urge to|tempted to|dream(?:ing)? (?:about|of)))"
)
_MEANS_WORDS = (
    "pill", "tablet", "capsule", "meds", "medication", "paracetamol", "acetaminophen", "tylenol",
    "insulin", "rope", "noose", "gun", "pistol", "rifle", "bullet", "razor", "blade", "knife", "poison",
)
_HARM_WORDS = (
    "kill", "murder", "hurt", "stab", "shoot", "strangl", "chok", "poison", "beat", "punch", "attack",
    "smother", "harm", "batter", "smash", "bash", "break", "slash", "run",
)
# Capitalised words after a harm verb that are not a person ("I Want To Kill Myself").
NOT_A_NAME = frozenset(
    {"myself", "me", "it", "for", "to", "time", "off", "this", "that", "everything", "again"}
)
_OURSELVES = r"our ?selves"
_WEAPON = r"(?:gun|pistol|revolver|rifle|shotgun|knife|razor|blade|rope|noose)"
_DOSE = r"(?:pills|tablets|capsules|meds|bottle)"
# Words before "gun" or "rope" that make it a tool or a toy ("a glue gun", "the skipping rope").
_NOT_A_WEAPON = (
    r"(?!(?:glue|nerf|water|squirt|toy|prop|cap|paint|paintball|airsoft|bb|staple|nail|heat|spray|"
    r"starting|massage|caulk|grease|jump|skipping|tow)\s)"
)
_END_LIFE_WORDS = ("self", "kms", "life", "end it", "suicide")
_END_LIFE = (
    rf"(?:kill {_SELF}|kms|end (?:my (?:own )?life|it all)|take my (?:own )?life|commit suicide|"
    rf"unalive {_SELF}|off {_SELF})"
)

# (label, level, kind, triggers, pattern). Every rule whose trigger occurs runs on the message.
RULE_TABLE: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    # Explicit ideation.
    ("ideation", "moderate", "explicit", ("sui", "suc", "sewer"),
     r"\b(?:suicid\w*|suicdal|sucidal|sucide|suiside|suicde|sewer ?slide)"),
    ("ideation", "moderate", "explicit", ("kms", "unaliv"), r"\b(?:kms|unaliv\w*)\b"),
    # "We": a client who counts themself among people who will kill themselves speaks of themself.
    ("ideation", "moderate", "explicit", ("self", "selves"),
     rf"\b(?:kill(?:ing|ed)?|off(?:ing)?) (?:{_SELF}|{_OURSELVES})\b"),
    # Lacking the courage to act, the act named by its means ("the guts to pull the trigger").
    ("ideation", "moderate", "explicit", ("courage", "guts", "balls", "strength", "nerve"),
     r"\b(?:(?:don't|do not|didn't|haven't|have not|never) (?:have |had |got )?(?:the |enough )?)?"
     r"(?:courage|guts|balls|strength|nerve) to (?:do it|end it|kill myself|go through with it|"
     rf"pull the trigger\b(?! on)|(?:pick up|grab|use|load|hold) (?:the|a|my) {_WEAPON}|"
     rf"(?:swallow|down) (?:the|those|all (?:the |my |of the )?|my) {_DOSE}|"
     rf"take (?:all|the whole|every one) (?:of )?(?:the |my |those )?{_DOSE})\b"),
    ("ideation", "moderate", "explicit", ("life",),
     r"\b(?:end(?:ing)?|take|taking) my (?:own )?life\b(?! back| into| in (?:a|my|the)| seriously| more)"),
    ("ideation", "moderate", "explicit", ("die",),
     r"\b(?:want(?:ed)?|wanna|ready|like|deserve|should) (?:to )?die\b"),
    ("ideation", "moderate", "explicit", ("think", "thought"),
     r"\b(?:think|thinking|thinks|thought|thoughts) (?:about|of) (?:suicide|killing myself|"
     r"ending (?:it|it all|everything|my life)(?! with)|taking my (?:own )?life)"),
    ("ideation", "moderate", "explicit", ("end it", "ending it"),
     r"\b(?:end(?:ing)? it all|i(?:'m| am)? (?:going to|gonna|will|'ll|want to|wanna|might) (?:just )?"
     r"end it\b(?! with))"),
    # Passive wish to be dead.
    ("wish_to_be_dead", "low", "explicit", ("wish",),
     r"\bwish(?:ing)? (?:i|i'd|i had) (?:was|were|had|could|would|'d|had been|never been|be)"
     r"(?: just)? (?:dead|die|never (?:been )?born|not (?:been )?born|not here|disappear(?! into|"
     r" for a| to )|"
     r"not exist)|"
     r"\bwish(?:ing)? (?:i|i'd|i had)(?: had)?(?: just)? (?:never|not) (?:been )?(?:born|existed|"
     r"here|alive)"),
    ("wish_to_be_dead", "low", "explicit", ("dead",), r"\b(?:better off dead|want (?:to )?be dead)\b"),
    ("wish_to_be_dead", "low", "explicit", ("rather",), r"\bi'd rather (?:be dead|die)\b(?! than)"),
    ("wish_to_be_dead", "low", "explicit", ("want", "wanna", "wish"),
     r"\b(?:don't|do not|no longer|never) (?:want|wanna|wish) to (?:be alive|live|exist|be here|wake up|"
     r"keep living|go on living)\b"),
    ("wish_to_be_dead", "low", "explicit", ("think", "thought"),
     r"\b(?:think|thinking|thinks|thought|thoughts) (?:about|of) (?:dying|death|being dead|"
     r"not (?:being|waking) (?:here|alive|around|up))\b"),
    ("wish_to_be_dead", "low", "indirect", ("done",),
     r"\bi'm (?:so |just |completely )?done with (?:life|living|everything|it all|this world|existing)\b"),
    ("wish_to_be_dead", "low", "indirect", ("tired", "sick"),
     r"\b(?:tired|sick) of (?:living|being alive|life|existing)\b"),
    ("wish_to_be_dead", "low", "indirect", ("wake", "forever"),
     r"\b(?:(?:go to sleep|fall asleep|sleep) (?:and|&) (?:never|not|don't|won't) wake(?: up)?|"
     r"(?:go to |fall a)?sleep forever)\b"),
    ("wish_to_be_dead", "low", "indirect", ("wake",),
     r"\bwish i (?:wouldn't|would never|didn't|won't|could never|would not) wake up\b"),
    ("wish_to_be_dead", "low", "indirect", ("point",),
     r"\b(?:(?:don't|do not|can't|cannot) see|there'?s no|there is no) (?:the |any )?point (?:in |of )?"
     r"(?:going on|living|carrying on|life|being alive|being here|continuing|anything anymore|it all)"),
    ("wish_to_be_dead", "low", "indirect", ("point",),
     r"\bwhat'?s the point (?:of|in) (?:living|going on|life|being alive|carrying on)\b"),
    ("wish_to_be_dead", "low", "indirect", ("worth",),
     r"\blife(?:'s| is)? (?:not|isn't|ain't) worth (?:living|it)\b"),
    ("wish_to_be_dead", "low", "indirect", ("can", "unable"),
     r"\b(?:can't|cannot|can not|unable to|don't think i can|not sure i can) (?:go on|keep going|carry on|"
     r"do this any ?more|take (?:it|this) any ?more|take (?:much|any) more|keep living|go on living|"
     r"live like this|live with this)\b"
     r"(?! to\b| with\b| on\b| about\b| (?:a|an|the|holiday|vacation|dates?|trips?|that|this)\b)"),
    ("wish_to_be_dead", "low", "indirect", ("burden",),
     r"\b(?:i'm|i am|i feel like|feel like) (?:such |just )?a burden\b"),
    ("wish_to_be_dead", "low", "indirect", ("disappear", "vanish", "exist"),
     r"\b(?:want|wanna|need|like|wish i could|going to)(?: to)? (?:just )?(?:disappear|vanish|not exist|"
     r"stop existing|cease to exist)\b(?! into| for a| to | from (?:work|social|the|this|my))"),
    ("wish_to_be_dead", "low", "indirect", ("want",),
     r"\bwant (?:it all|everything) to (?:end|be over|stop)\b"),
    ("wish_to_be_dead", "low", "indirect", ("nobody", "no one", "no-one", "noone"),
     r"\b(?:nobody|no one|no-one|noone) (?:would|will|'d)(?: even)? (?:miss me|(?:care|notice|know)"
     r" if i (?:died|was dead|were dead|was gone|were gone|disappeared|wasn't here|weren't here))"),
    ("wish_to_be_dead", "low", "indirect", ("wake",),
     r"\b(?:(?:easier|better|simpler|best|nicer) (?:to|if i) (?:just )?(?:not|never) wake up|"
     r"(?:hope|wish|pray)"
     r"(?:ing)? (?:that )?(?:i )?(?:don't|won't|never|do not|will not|wouldn't) wake up|(?:not|"
     r"never) (?:to )?"
     r"wake up (?:tomorrow|again|ever))\b"),
    ("wish_to_be_dead", "low", "indirect", ("enough", "ready to go", "want out", "meaning", "pointless"),
     r"\b(?:i'?ve had enough\b(?! of| to)|i'?m ready to (?:go|die)(?=\s*(?:[,.!;]|$|and\b|now\b))|i want out"
     r"\b(?! of)|life (?:has no|is without|doesn't have any|has lost its) (?:meaning|purpose|point)|"
     r"life is (?:meaningless|pointless))"),
    ("wish_to_be_dead", "low", "indirect", ("funeral", "grave", "my death", "own death"),
     r"\b(?:imagin|pictur|think|dream|fantasi[sz])\w*(?: about| of)? my (?:own )?(?:funeral|grave|death)\b"),
    ("wish_to_be_dead", "low", "indirect", ("if i", "would anyone", "would anybody"),
     r"\b(?:if i (?:died|was gone|were gone|disappeared|killed myself)\b[^.?!]{0,40}?\b(?:would (?:anyone|"
     r"anybody|they|people)|nobody|no one)|would (?:anyone|anybody)(?: even)? (?:notice|care|miss me) if i "
     r"(?:died|was gone|were gone|disappeared))"),
    ("self_harm", "moderate", "explicit", ("cut",),
     r"\b(?:cut(?:ting)? again|(?:want|wanna|urge|need|urges) to cut\b(?! (?:down|back|out|off|my hair|hair|"
     r"the|it|ties|costs|corners|class|school|people|him|her|them|in|some|a|an|through)))"),
    # Indirect ideation and intent.
    ("ideation", "moderate", "indirect", ("without me", "if i", "if i'd", "if id"),
     r"\b(?:better|fine|happier|easier|okay|ok|relieved|lighter|a favou?r)(?: off)?(?: [\w']+){0,4}? "
     r"(?:without me|if i (?:just )?(?:died|disappeared|vanished|(?:was|were) (?:gone|dead|not here|"
     r"not around|"
     r"never born)|(?:wasn't|weren't) (?:here|around|alive)|didn't exist)\b)"),
    ("wish_to_be_dead", "low", "indirect", ("good", "forever", "permanently", "way out"),
     r"\b(?:(?:vanish|disappear)(?:ed)? (?:for good|forever|permanently)|(?:see |there'?s |there is )?no "
     r"(?:other )?way out|only way out)\b"),
    ("ideation", "moderate", "indirect", ("reason", "point", "live for"),
     r"\b(?:no (?:reason|point) (?:left )?(?:to|for) (?:live|living|go on|going on|keep going|be here|"
     r"stay alive|stay)|nothing (?:left )?to live for)\b"),
    ("ideation", "moderate", "indirect", ("gone", "dead", "here"),
     r"\b(?:when|after|once) i'?m (?:gone|dead|not here|no longer here)\b(?! on| for| to| away| abroad)"),
    ("intent", "high", "indirect", ("won", "not going", "not gonna"),
     r"\b(?:won't|will not|not going to|not gonna) be (?:a burden|around|here|alive) (?:much longer|for "
     r"(?:much )?longer|any ?more|for long|soon|next (?:week|month|year)|by|tomorrow|after)\b"),
    ("intent", "high", "indirect", ("make it", "survive", "last"),
     r"\b(?:won't|will not|don't think i'(?:ll|d)|not going to|not gonna) (?:make it|survive|last) "
     r"(?:through )?(?:the night|tonight|the week|the weekend|another day|much longer)\b"),
    ("ideation", "moderate", "indirect", ("stupid", "drastic", "take back", "ending things"),
     r"\b(?:do something (?:stupid|drastic|i can't take back|permanent)|ending things\b(?! with|"
     r" between| off))"),
    ("intent", "high", "indirect", ("goodbye", "farewell", "last", "read"),
     r"\b(?:this is (?:my )?(?:goodbye|farewell|last (?:message|post|goodbye))|goodbye (?:forever|world|"
     r"everyone)|(?:say|saying|said) (?:my )?goodbyes? (?:to everyone|for the last time|while i can)|"
     r"(?:said|saying|say) my (?:last |final )?goodbyes|"
     r"by the time (?:you|anyone) reads? this)"),
    ("intent", "high", "explicit", _END_LIFE_WORDS,
     rf"\bi(?:'m| am)? ?(?:really |just )?(?:going to|gonna|will|'ll|plan(?:ning)? to|intend to|"
     rf"decided to|about to|ready to)\s+(?:just\s+)?{_END_LIFE}"),
    # Plan and behaviour (preparatory acts, attempts, means at hand).
    ("plan", "imminent", "explicit", _END_LIFE_WORDS,
     rf"\b{_END_LIFE}\s+(?:tonight|today|this (?:weekend|week|evening)|tomorrow|right now|now|soon)\b"),
    ("plan", "imminent", "explicit", ("plan",),
     r"\b(?:have|'ve got|got|made|making|came up with) a plan (?:to|for|on how to) "
     r"(?:kill|end|die|do it|take|suicide)"),
    ("plan", "imminent", "explicit", ("how", "when", "where", "date", "day"),
     r"\b(?:i (?:know|decided|planned|picked|worked out) (?:how|when|where) i(?:'ll| will|'m going to|'d|"
     r" would)? (?:do it|die|end it)|(?:set|picked|chose|chosen) (?:a|the) (?:date|day) to (?:die|do it))"),
    ("plan", "imminent", "explicit", ("sav", "stockpil", "hoard", "collect"),
     r"\b(?:saved|stockpiled|hoarded|collected|saving|stockpiling|hoarding|collecting)\s+(?:up\s+)?"
     r"(?:the |enough |all (?:the |of )?|some |my )?(?:\w+\s+)?(?:pills|tablets|capsules|meds|"
     r"medications?|painkillers)\b"),
    ("plan", "imminent", "explicit", ("bought", "buying", "hold", "ordered", "purchased"),
     rf"\b(?:bought|buying|got hold of|ordered|purchased)\s+(?:a |the |some |enough )?(?:{_NOT_A_WEAPON}\w+\s+)?"
     r"(?:gun|pistol|rifle|shotgun|bullets|ammunition|noose|poison|razor blades)\b"),
    ("plan", "imminent", "explicit", ("gun", "pistol", "rifle", "shotgun", "firearm", "rope", "noose"),
     r"\b(?:put|moved|loaded|got out|took out|fetched|brought|hid|hidden)\s+(?:a|the|my|some)\s+"
     rf"(?:{_NOT_A_WEAPON}\w+\s+)?(?:gun|pistol|rifle|shotgun|firearm|rope|noose)\b"),
    ("plan", "imminent", "explicit", ("planning", "plan"),
     r"\b(?:plan(?:ning|ned)? (?:how|when|where) (?:to|i'?ll|i will|i'?m going to) (?:do it|end it|"
     r"die)|my plan "
     r"is to (?:take|swallow|jump|hang|end|kill|die|do it|overdose|drive|crash|cut)|plan(?:ning)? to (?:take|"
     r"swallow) (?:all|the|my|those) (?:\w+ )?(?:pills|tablets|meds))\b"),
    ("plan", "imminent", "explicit", _MEANS_WORDS,
     rf"\b(?:have|'ve got|got)\s+(?:the|my|enough|all the|all my|a|some)\s+(?:{_NOT_A_WEAPON}\w+\s+)?{_MEANS}\s+"
     rf"(?:here|ready|right here|with me|next to me|in (?:my|the) (?:hand|bag|pocket|car|room|drawer))\b"),
    ("plan", "imminent", "explicit", ("rope", "noose", "gun", "pistol", "rifle", "shotgun", "poison"),
     rf"\b(?:have|'ve got|got|keep|kept|hid|hidden)\s+(?:a|the|my|some)\s+(?:{_NOT_A_WEAPON}\w+\s+)?(?:rope|noose|gun|"
     r"pistol|rifle|shotgun|firearm|poison)\b(?=[^.!?]{0,40}?\b(?:here|ready|with me|next to me|"
     r"in (?:my|the) "
     r"\w+|thinking about it|looking at it|keep thinking|can't stop))"),
    ("method", "high", "explicit", ("looked up", "looking up", "googl", "search", "research", "read up"),
     r"\b(?:looked up|looking up|googled|googling|searched|searching|researched|researching|read up on)"
     r"\b[^.!?]{0,40}?\b(?:how many|how much|lethal|overdose|how to|ways to|methods?|pills?|tablets?|"
     r"paracetamol|painless|bridges?|heights?|rope|noose|guns?)\b"),
    ("plan", "imminent", "explicit", ("suicide", "goodbye", "farewell"),
     r"\b(?:wrote|written|writing|left|leaving|sent|sending|recorded)\s+(?:a |my |some )?(?:suicide|goodbye|"
     r"farewell)\s+(?:notes?|letters?|messages?|texts?|videos?|emails?)"),
    ("behaviour", "imminent", "indirect", ("away", "cat", "dog", "pet"),
     r"\b(?:giv(?:e|ing|en)|gave)\s+(?:away\s+(?:all\s+)?(?:of\s+)?my\s+(?:\w+\s+)?(?:things|stuff|"
     r"belongings|possessions|valuables|pets?|cat|dog)\b|(?:all\s+)?(?:of\s+)?my\s+(?:\w+\s+)?(?:things|"
     r"stuff|belongings|possessions|valuables|pets?|cat|dog)\s+away\b|(?:my\s+)?(?:cat|dog|"
     r"pets?) to (?:my |a |the )?"
     r"[\w']+\b(?! for (?:the|a) (?:weekend|week|day|night|few days)| while))"),
    ("behaviour", "imminent", "explicit", ("tri", "try", "attempt"),
     rf"\b(?:tried|attempted|trying|try) (?:to )?(?:kill {_SELF}|end my (?:own )?life|commit suicide|"
     rf"take my (?:own )?life|suicide|overdose|hang {_SELF})"),
    # "Attempted" with no object but a count: in talk of one's own struggles, an attempt history.
    ("behaviour", "imminent", "explicit", ("attempted",),
     r"\bi(?:'ve| have| had)?(?: already)? attempted (?:suicide )?(?:once|twice|before|in the past|"
     r"(?:\d+|two|three|four|five|several|many|multiple|a few|a couple of|a number of) times)\b"
     r"(?! to\b| at\b| with\b| on\b)"),
    ("behaviour", "imminent", "explicit", ("attempt", "overdos", "od", "took", "swallow"),
     r"\b(?:my (?:\w+ )?suicide attempts?|i (?:overdosed|od'd|oded)|i (?:took|had) an overdose|"
     r"i (?:took|swallowed) (?:a lot of|all|a bunch of|too many|a whole|the whole|an entire|\d{2,})\s+"
     r"(?:of\s+)?(?:my\s+)?(?:[\w']+\s+){0,2}?(?:pills|tablets|capsules|bottle|packet|pack|box))"),
    ("behaviour", "imminent", "explicit", ("bridge", "roof", "ledge", "railing", "edge"),
     r"\bi'?m (?:standing on|sitting on|on) (?:the|a) (?:bridge|roof|ledge|railing)|\bi'?m (?:standing|"
     r"sitting) on (?:the|a) edge"),
    # Method named in a statement about oneself.
    ("method", "high", "explicit", ("brain", "head", "bullet", "mouth", "temple", "chin", "gun"),
     r"\b(?:blow(?:ing|n)?|blew) (?:my|our) (?:own )?(?:brains?|head) (?:out|off)\b|"
     r"\b(?:put|putting|puts|stick|sticking|held|hold|holding|press\w*|point\w*) (?:a|the|my) (?:loaded )?"
     r"(?:gun|pistol|revolver|rifle|shotgun) (?:to|in|into|against|under) my (?:own )?(?:head|mouth|"
     r"temple|chin)\b|\b(?:a|the) bullet (?:in|into|through) my (?:own )?(?:head|brains?|skull|mouth)\b|"
     r"\beat(?:ing)? (?:a bullet|my gun|a gun)\b"),
    ("method", "high", "explicit", ("self",),
     rf"\b(?:hang(?:ing)?|shoot(?:ing)?|drown(?:ing)?|poison(?:ing)?|suffocat\w*|electrocut\w*|"
     rf"stab(?:bing)?|gas(?:sing)?) {_SELF}\b"),
    ("method", "high", "explicit", ("off", "from", "front", "under"),
     r"\b(?:jump(?:ing)?|step(?:ping)?|throw(?:ing)? myself|lie down|lying down) (?:off|from|in front of|"
     r"under) (?:a|the|that|my) (?:\w+ )?(?:bridge|building|roof|cliff|balcony|window|tower|train|bus|"
     r"truck|lorry|car park|parking garage|overpass|ledge|tracks)"),
    ("method", "high", "explicit", ("slit", "overdos", "od", "self", "life", "suicide", "die", "end it"),
     rf"\b(?:slit (?:my|your) (?:wrists?|throat)|overdos\w*|od(?:'d|ing)? on|"
     rf"(?:kill {_SELF}|end my life|suicide|die|end it)\s+(?:with|by|using|from)\s+(?:\w+\s+){{0,2}}?"
     rf"(?:{_MEANS}|jumping|hanging|drowning|car|train|bridge|gas))"),
    ("method", "high", "explicit", ("how", "ways", "method"),
     r"\b(?:thinking|thought|looked up|looking up|researched|researching|googled|googling) "
     r"(?:about )?(?:how|ways|methods) (?:to|i (?:would|could|might)|i'd) (?:do it|die|end it|kill myself)"),
    ("method", "high", "explicit", ("car", "truck", "wall", "crash", "swerv"),
     r"\b(?:driv\w*|crash\w*|swerv\w*|steer\w*) (?:my (?:car|truck|bike)|the car|off)(?: \w+)? (?:into|off) "
     r"(?:a |the )?(?:wall|tree|bridge|road|cliff|traffic|oncoming|river|lake|barrier|truck|lorry)"),
    ("method", "high", "explicit", ("all", "whole", "entire", "every"),
     r"\b(?:tak\w*|swallow\w*|down\w*) (?:all|the whole|a whole|every one|an entire) (?:of )?(?:my |"
     r"the |those )?"
     r"(?:[\w']+ )?(?:pills|tablets|meds|medications?|bottle|packet|box)\b"),
    # Self-harm.
    ("self_harm", "moderate", "explicit", ("self", "urge"),
     rf"\b(?:self[- ]?harm\w*|(?:cut|cutting|burn|burning|hurt|hurting|harm|harming|hit|hitting|punch|"
     rf"punching|scratch|scratching|starve|starving) {_SELF}|urges? to (?:cut|burn|self[- ]?harm))\b"),
    ("self_harm", "high", "explicit",
     ("self", "arm", "wrist", "leg", "thigh", "skin", "stomach", "face", "head", "bleed", "bled"),
     rf"\bi(?:'ve| have)?\s+(?:been\s+|started\s+)?(?:cut|cutting|burned|burnt|burning|harmed|hurt|"
     rf"scratch(?:ed|ing)|hit|hitting|punch(?:ed|ing)|bit|biting)\s+(?:{_SELF}|my (?:arms?|wrists?|legs?|"
     rf"thighs?|skin|stomach|face|head))\b|\buntil (?:it|they|i) (?:bleed|bleeds|bled)\b"),
    ("self_harm", "moderate", "explicit", ("something", "anything"),
     r"\b(?:do|doing|did) (?:something|anything)(?: stupid| bad)? to (?:myself|me)\b"),
    ("ideation", "moderate", "indirect", ("gone",),
     r"\bi'll be gone\b(?! (?:for|on|by|until|till|from|in|at|all|before|after|when|while|next|this|"
     r"tomorrow|soon|a|an|the|two|three|\d))"),
    ("self_harm", "high", "explicit", ("cutting",),
     r"\b(?:i(?:'ve| have) been|started|i'm|i am) cutting\b(?! (?:back|down|out|corners|costs|the|my hair|"
     r"hair|class|classes|school|ties|people|him|her|them|off))"),
    # Masked method requests: heights, places, doses, weapons, instructions.
    ("masked_method_request", "high", "masked", ("lethal", "fatal", "deadly", "toxic", "od"),
     r"\b(?:lethal|fatal|deadly|toxic|overdose|od)\s+(?:dose|doses|dosage|amount|amounts|quantity|level|"
     r"levels|limit|threshold|number)\b"),
    ("masked_method_request", "high", "masked", ("how many", "how much"),
     r"\bhow (?:many|much)\b[^.?!]{0,40}?\b(?:pills?|tablets?|capsules?|paracetamol|acetaminophen|tylenol|"
     r"ibuprofen|aspirin|meds|medications?|insulin|xanax|valium|oxy\w*|opioids?|benzos?|antidepressants?)"
     r"\b[^.?!]{0,40}?(?:too many|too much|kill|lethal|fatal|deadly|\bdie\b|\bdead\b|overdose|\bod\b|"
     r"(?:would|does|will|did) (?:it )?take|it takes|to not wake|never wake|not survive)"),
    ("masked_method_request", "high", "masked", ("enough", "too many", "kill", "lethal", "fatal"),
     r"\b\d+\s*(?:\w+\s+)?(?:pills?|tablets?|capsules?|paracetamol|acetaminophen|tylenol|ibuprofen|aspirin|"
     r"sleeping pills|insulin)\b[^.?!]{0,20}?\b(?:enough|too many|kill|lethal|fatal)\b"),
    ("masked_method_request", "high", "masked", ("survive", "die", "kill"),
     r"\b(?:(?:can|could|would|will|do) (?:you|someone|a person|people|i) (?:die|not survive) (?:from|of|if)|"
     r"would (?:\d+|\w+) (?:pills|tablets|of them) kill|(?:jump|fall|drop)\w*\b[^.?!]{0,40}?\b(?:to not "
     r"survive|not survive|wouldn't survive|survive the fall)|(?:floor|storey|story|height)\b[^.?!]{0,40}?"
     r"\b(?:jump|fall)\w*[^.?!]{0,30}?\b(?:survive|die|kill))"),
    ("masked_method_request", "high", "masked",
     ("lethal", "deadly", "fatal", "kill", "die", "dangerous", "overdose"),
     r"\b(?:which|what)\s+(?:\w+\s+)?(?:pills?|tablets?|drugs?|medications?|meds|poisons?|chemicals?)\b"
     r"[^.?!]{0,30}?"
     r"\b(?:lethal|deadly|fatal|kill|die|most dangerous|overdose)"),
    ("masked_method_request", "high", "masked", ("fall", "drop", "jump", "plunge", "enough"),
     r"\b(?:how (?:high|tall|far|long)\b[^.?!]{0,40}?\b(?:fall|drop|jump|plunge)|(?:fall|drop|jump)\w*\b"
     r"[^.?!]{0,30}?\bhow (?:high|far)|(?:high|tall|far) enough to (?:die|kill))"),
    ("masked_method_request", "high", "masked", ("floor", "storey", "stor", "metre", "meter", "feet", "ft"),
     r"\b(?:jump\w*|fall\w*|fell)\b[^.?!]{0,40}?\b(?:\d+(?:st|nd|rd|th)?\s*(?:floor|storey|story|"
     r"stories|floors|"
     r"metres?|meters?|feet|ft|m)|floor|storey|stories)\b"),
    ("masked_method_request", "high", "masked", ("rope", "noose", "belt", "cord", "weight"),
     r"\b(?:(?:hang|tie|attach)\w* (?:a |the )?(?:rope|noose|belt|cord)\b|strong enough to (?:hold|take) "
     r"(?:my|someone'?s|a person'?s|a body'?s|body|human) weight)"),
    ("masked_method_request", "high", "masked", ("tallest", "highest", "deadliest"),
     r"\b(?:(?:tallest|highest|deadliest)\b[^.?!]{0,30}?\b(?:bridges?|buildings?|cliffs?|towers?|"
     r"rooftops?|car parks?|parking (?:garages?|structures?)|overpass\w*|dams?)|(?:bridges?|buildings?|"
     r"cliffs?|towers?|rooftops?|parking garages?)\b[^.?!]{0,30}?\b(?:tallest|highest))"),
    ("masked_method_request", "high", "masked", ("gun", "firearm", "pistol", "rifle", "bullet", "ammo"),
     r"\b(?:buy|get|getting|obtain|purchase|find|get hold of|acquire)\s+(?:a |an |some |my )?"
     r"(?:gun|guns|firearm|pistol|handgun|rifle|shotgun|bullets|ammo|ammunition)\b"),
    ("masked_method_request", "high", "masked", ("how", "painful", "hurt"),
     r"\bhow (?:to|do you|does one|would (?:i|you|someone)|can (?:i|you|someone)|long does it take to)\s+"
     r"(?:\w+\s+){0,2}?(?:(?:hang|drown|suffocate|poison|electrocute|strangle|smother|kill) (?:myself|"
     r"yourself|oneself|someone|a person|him|her|them|people)|overdose|od on|slit|bleed out)\b|\bhow long "
     r"(?:does|would|will) it take (?:to|for (?:someone|a person|you|me) to) (?:die|bleed out|drown|"
     r"suffocate)|"
     r"\b(?:painful|hurt) to (?:drown|hang|bleed out|overdose|suffocate)"),
    ("masked_method_request", "high", "masked", ("way", "method"),
     r"\b(?:painless|quick|quickest|easiest|fastest|surest|best|most reliable|most effective|effective)\s+"
     r"(?:\w+\s+)?"
     r"(?:way|ways|method|methods)\s+(?:to|of)\s+(?:die|dying|kill (?:myself|yourself|oneself)|end it|"
     r"end (?:my|your|one's|a) life|suicide)\b"),
    ("masked_method_request", "high", "masked", ("noose", "exit bag", "arter", "vein", "how deep", "happen"),
     r"\b(?:noose|exit bag|(?:where|which) (?:is|are) the (?:arter\w+|veins?)|how deep\b[^.?!]{0,20}\bcut|"
     r"what (?:happens|would happen) if (?:i|you|someone|a person) (?:take|took|swallow\w*|drink|drank) "
     r"(?:a whole|all|the whole|an entire|\d+|too many))"),
    # Harm to others.
    ("harm_to_others", "high", "explicit", ("pay", "suffer", "bleed", "regret", "coming", "dead"),
     r"\b(?:make|making) (?:him|her|them|you|everyone|(?:my|that|the|this) \w+) (?:pay|suffer|bleed|"
     r"regret)\b|\bwant (?:him|her|them|"
     r"my \w+) dead\b|\b(?:he|she|they|you)"
     r"(?:'ll| will|'re going to| are going to|'s going to| is going to|'re gonna|'s gonna) "
     r"(?:pay for (?:this|that|it)|regret (?:it|this)|get what'?s coming)"),
    ("harm_to_others", "high", "explicit", ("shoot up", "bomb", "blow up", "burn down"),
     r"\b(?:shoot up|bomb|blow up|burn down) (?:the|my|this|that|his|her|their) (?:school|office|workplace|"
     r"building|house|place|church|mosque|synagogue|class)"),
)



# Harm to others: "<harm verb> <victim>" with "I ... want to / going to / could ..." just before
# it. Matching the verb first and looking back is far cheaper than starting at every "I".
HARM_TO_OTHERS = Rule(
    "harm_to_others", "high", "explicit", _HARM_WORDS,
    rx(rf"{_HARM_VERB}\s+(?:{_VICTIM}|(?P<name>[a-z]+)\b)"), boundary=True,
    subject=rx(rf"\bi\b[^.!?;,]{{0,25}}?{_WILL}\s+(?:\w+\s+)?$"),
)

# Talk about someone else's suicide, or about suicide as a topic: a finding inside these
# words is not about the client and does not flag.
MENTION = rx(
    r"\b(?:died (?:by|of) suicide|death by suicide|(?<!have )(?<!\bi )committed suicide|(?:killed|hanged|shot|unalived|"
    r"overdosed) (?:himself|herself|themselves)|(?:tried|tries|attempted|trying|wanted|wants|threatened) "
    r"to (?:kill|hang|drown|poison|shoot|hurt|harm|cut) (?:himself|herself|themselves)|took (?:his|her|"
    r"their) (?:own )?life|lost (?:him|her|them|my \w+|a \w+) to (?:suicide|an overdose)|suicide of "
    r"(?:my|his|her|their|a)|(?:he|she|they|friend|"
    r"brother|sister|mother|mom|mum|father|dad|son|daughter|partner|husband|wife|boyfriend|girlfriend|"
    r"cousin|uncle|aunt|colleague|client|patient)(?:'s| is| was| are| were| has been| seems| seemed) "
    r"(?:\w+ )?suicidal|(?:he|she|they|my \w+) (?:\w+ )?(?:left|wrote|has attempted|had attempted|"
    r"attempted|overdosed|od'd)(?: a)?(?: suicide(?: note)?)?|died (?:of|from) an overdose|suicide "
    r"(?:prevention|awareness|hotline|helpline|rates?|statistics|squad|bomb\w*|risk assessment|training)|"
    r"(?:film|movie|book|show|series|documentary|article|song|podcast|news|story|novel|episode|lecture) "
    r"(?:was |is )?(?:about|on) suicide)"
)

# The trained layer flags a sentence only when it, or the sentence just before or after it,
# holds at least one of these words of death, harm, ending, escape or despair. Without this, ordinary therapy talk the model learnt to
# associate with risk on Reddit ("I keep thinking about my mother": p 0.82) would interrupt
# sessions with a check-in; with it, the model still reaches phrasings no rule names.
RISK_CONTEXT = rx(
    r"\b(?:die|dies|died|dying|dead|death|deaths|suicid\w*|kill\w*|life|lives|live|living|alive|exist\w*|"
    r"end|ends|ending|ended|gone|disappear\w*|vanish\w*|burden\w*|point|pointless|hopeless\w*|worthless|"
    r"useless|give up|giving up|gave up|go on|going on|cope|coping|enough|pills?|overdos\w*|hurt\w*|harm\w*|"
    r"cut|cutting|bleed\w*|blood|jump\w*|bridge|rope|gun|knife|wake up|goodbye|bye|escape|tired of|sick of|"
    r"done with|over with|nothing|nobody|no one|anymore|forever|pain|empty|numb|trapped|better off|without "
    r"me|funeral|grave|heaven|sleep|disappoint\w*|failure|hate myself|myself|depress\w*|woke|wake|never wake|decided|do it|giv\w* away|gave away)\b"
)

# Figures of speech and accidents that contain the words of a rule: they cancel a finding.
EXCLUSIONS = rx(
    r"\b(?:hurt(?:ing)? (?:\w+'s |\w+ )?feelings|hurt(?:ing)? (?:him|her|them|you|people) (?:emotionally|"
    r"by (?:saying|leaving|telling|not))|shoot (?:you|him|her|them|me) (?:an? |a quick )?(?:email|message|"
    r"text|note|line|dm|mail)|(?:cut|burn(?:ed|t)?|hurt|harm(?:ed)?|scratch(?:ed)?) my ?self (?:(?:while|"
    r"when) (?:i was )?(?:cooking|shaving|chopping|working|playing|running|climbing|gardening|cleaning)|"
    r"by accident|accidentally|shaving|cooking|on (?:a|the|some|my)|at (?:the|work)|playing|running|"
    r"lifting|chopping|in the kitchen)|(?:hit|bumped|banged|cut|burned|burnt|hurt|scratched|bit) my "
    r"(?:head|face|arms?|legs?|skin|wrists?|thighs?|stomach) (?:on|by accident|accidentally|playing|"
    r"at the|in the)|(?:die|dying|died|dead) (?:of|from|with)? ?(?:embarrassment|shame|laughter|laughing|"
    r"boredom|curiosity|cringe)|(?:killed|killing) (?:my ?self|our ?selves) (?:to (?:get|finish|make|meet|keep|ship|deliver|hit|pay|launch)|over "
    r"(?:this|that|work)|at (?:work|the gym)|laughing|working)|kill(?:ing)? (?:time|it|the (?:mood|vibe|"
    r"lights|engine|music))|(?:end|ends|ending|ended) (?:it|things) (?:off )?with (?:him|her|them|"
    r"my (?:\w+ )?(?:boyfriend|girlfriend|partner|husband|wife|bf|gf|fianc\w*|ex|date|lover)|"
    r"(?:the|this|that) (?:guy|girl|man|woman)))"
)

SUICIDAL = frozenset({"wish_to_be_dead", "ideation", "intent", "plan", "behaviour"})
MEANS_NAMED = rx(
    rf"\b(?:my|the|a|some|enough|those|these|his|her|that)\s+(?:\w+\s+)?(?:{_MEANS}|bridge|cliff|"
    rf"rooftop|roof|train tracks|tracks|ledge|balcony)\b"
)
MEANS_NAMED_WORDS = (*_MEANS_WORDS, "bridge", "cliff", "roof", "tracks", "ledge", "balcony")

# No rule matches more than this many characters on either side of its trigger word, so a
# rule only needs to run near its triggers; long messages are scanned in those windows.
REACH = 260

# Clause boundaries, negation and the past: they lower the level of a finding in their clause.
BOUNDARY = re.compile(r"[.!?;,:\n]|\bbut\b|\band\b|\bso\b|\bbecause\b")
NEGATION = rx(
    r"\b(?:not|never|no longer|no way|don't|won't|wouldn't|didn't|doesn't|isn't|haven't|hasn't|"
    r"can't(?! stop| help| get| shake)|cannot(?! stop| help)|shouldn't|ain't|aren't|wasn't|weren't)\b"
    r"(?! know why| stop)"
)
PAST = rx(
    r"\b(?:used to|years ago|(?:a )?(?:long )?(?:time|while) ago|when i was (?:a |younger|young|little|"
    r"small|in|\d+)|in (?:19|20)\d\d|as a (?:kid|child|teen|teenager)|in (?:high school|college|"
    r"university|my teens|my twenties|the past)|back then|not any ?more|no longer)\b"
)


# What an outgoing reply must never contain: means, doses, heights, places, instructions.
METHOD_INFORMATION = rx(
    r"\b(?:\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|g|grams?|milligrams?|ml|millilitres?|milliliters?|tablets?|"
    r"pills?|capsules?|doses?)\b|\d+(?:[.,]\d+)?\s*(?:feet|foot|ft|metres?|meters?|m|storeys?|stories|"
    r"floors?)\b|lethal|fatal dose|deadly dose|overdos\w*|noose|hang(?:ing)? (?:yourself|oneself|myself)|"
    r"(?:slit|cut|slash)\w* (?:your|one's|my) (?:wrists?|throat|veins?|arteries)|arter(?:y|ies)|"
    r"paracetamol|acetaminophen|tylenol|antifreeze|cyanide|carbon monoxide|exhaust fumes|exit bag|"
    r"helium|pesticide|weed ?killer|rat poison|fentanyl|oxycodone|barbiturates?|firearms?|guns?|pistols?|"
    r"handguns?|rifles?|shotguns?|bullets?|ammunition|ropes?|ligatures?|knife|knives|blades?|razors?|pills?|"
    r"tablets?|(?:jump|jumping|fall|falling|drop) (?:off|from)|"
    r"in front of (?:a|the) (?:train|bus|truck|lorry)|train tracks|railway line|(?:tallest|highest) "
    r"(?:bridge|building|cliff|tower|point)|bridges?|cliffs?|rooftops?|how to (?:kill|hang|drown|"
    r"suffocate|poison|strangle|stab|shoot|overdose|die|hurt|harm|cut)|step[- ]by[- ]step|"
    r"(?:suffocat|asphyxi|strangl|drown)\w* (?:yourself|oneself|myself|someone|him|her|them))"
)

# fmt: on


def compile_rules() -> tuple[Rule, ...]:
    """Every rule of the table compiled, then the harm-to-others rule (the screen's order)."""
    return (*(rule(*row) for row in RULE_TABLE), HARM_TO_OTHERS)
