"""Which language a customer writes: Khmer (in Khmer script or Romanized), English, or neither.

Khmer script is certain. Romanized Khmer ("internet ot dae", "som tos bong") is told by its words:
a message is Khmer when it has at least as many distinctly Khmer words as words of anything else,
product and IT names ("internet", "wifi", "invoice") counting for neither side. Romanized words
that are also English words ("bat", "ban", "mean", "men", "min") count for neither side too, so
English with a Khmer form of address ("thank you bong") stays English.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["km", "en"]

_WORD = re.compile(r"[a-z]+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Addresses are no one's words ("email khnhom sokha@gmail.com" is Khmer).
_ADDRESS = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+")

# Romanized Khmer as customers type it, several spellings of each word; none is an English word.
_ROMANIZED = frozenset(
    """
    sousdey suostei susadei susdei sursdey suosdey sousday susday sour suor suo sur chumreap chomreap
    chom chum reap reab arun lea leah suhn sen sin hz hoy haey heuy hery orkun orkoun arkun
    akun okun aokun som tos tous toh sok sabay sabai neak nak knhom khnhom khnom nhom kjom kyom jea
    chea mouy muoy moy niyay nisay chong jong ot ort dae tae te trov trou ton tean tver twer thver
    tveu kang kaang dach dac yeut yerd luy loy lui kat khos kos tlai tlay chenh chegn chol jol vinh
    veng jos jul juos banhaa banha panha pel pelna kroy kraoy thngai tngai sngai mong maong pun pon
    bek baek lek chhmous chmous chmuos ke kee luoch luch louch ey ei avey avei klah khlah chuoy juy
    chuay yang mech meach dol domnoeng domnerng domnoeung sevakam phang pheng knea chuob jub reatrey
    atit sao chhnam chnam plieng phlieng kdao mhob chnganh chngan samlor rebiab lerng leung laeng
    kamnot hos jit tinney lech thlay oy aoy ouy mun khe khae dang dong bangkandai kandai nis nih ning
    chraen chran chreun sdab rean chreang chas jas teak tong tak mok chob chab pdeum pderm tmey thmey
    bach yok leng srey kmean kmeang ach nouv tov tow teu knong kbal tang pruk pruek plech plich chneah krom kun bal tot
    tiet tiat mdong prab brab cheh
    """.split()
)

# Names of products and IT things, typed the same in Khmer and English messages, and Romanized
# Khmer words that are also English words: neither side's evidence.
_NEUTRAL = frozenset(
    """
    bong internet net wifi excel word server printer print computer laptop pc login email mail
    facebook account invoice bill ticket website web domain backup vpn password storage system app
    erp pos odoo update restart ok okay virus hack network phone telephone tel support agent admin
    maintenance technician bot company ssl dns telegram zoom gmail outlook aba acleda wing
    bat ban bet men mean man min na pi del pen ja pro os nas sang nov tam
    """.split()
)

# Letters found in Vietnamese and no other language written in Latin letters.
_VIETNAMESE = frozenset("ăđơư")


def _script(ch: str) -> str:
    """'km', 'latin' or 'other' for a letter."""
    code = ord(ch)
    if 0x1780 <= code <= 0x17FF or 0x19E0 <= code <= 0x19FF:
        return "km"
    if code <= 0x024F or 0x1E00 <= code <= 0x1EFF:
        return "latin"
    return "other"


def _looks_vietnamese(text: str) -> bool:
    """Vietnamese letters (ă, đ, ơ, ư) or its stacked tone marks (ạ, ả, ế...: U+1EA0-U+1EF9)."""
    return any(ch in _VIETNAMESE or "\u1ea0" <= ch <= "\u1ef9" for ch in text.lower())


def is_romanized_khmer(text: str) -> bool:
    """Whether Latin-letter text reads as Romanized Khmer rather than English."""
    khmer = other = 0
    for word in _WORD.findall(_ADDRESS.sub(" ", unicodedata.normalize("NFC", text.lower()))):
        if word in _NEUTRAL:
            continue
        if word in _ROMANIZED:
            khmer += 1
        else:
            other += 1
    return khmer > 0 and khmer >= other


def detect_language(text: str) -> Language | None:
    """'km' for Khmer (script, or Romanized), 'en' for other Latin-letter text, None for the rest.

    None means a language the desk does not speak (Thai, Chinese, Vietnamese...), and also a message
    without any letter ("#1042", "👍"), which tells nothing: the caller keeps the language it had.
    """
    if not isinstance(text, str):
        return None
    if text.isascii():  # most messages: every letter Latin, none Vietnamese
        if _ASCII_LETTER.search(text) is None:
            return None
        return "km" if is_romanized_khmer(text) else "en"
    counts = {"km": 0, "latin": 0, "other": 0}
    for ch in unicodedata.normalize("NFC", text):
        if ch.isalpha():
            counts[_script(ch)] += 1
    if counts["km"] and counts["km"] >= counts["other"]:
        return "km"
    if counts["latin"] <= counts["other"]:
        return None
    if _looks_vietnamese(text):
        return None
    return "km" if is_romanized_khmer(text) else "en"
