"""Entity patterns shared by the embedded engine and `nlu/data/entities.yml` (kept identical by a test)."""

from __future__ import annotations

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"

# Cambodian numbers (012 345 678, 0969899444, +855 96 9899 444, 85596 9899 444, (+855) 12-345-678)
# and international ones written with a plus (+1 415 555 0132). Never dates, amounts, invoice or
# ticket numbers: a number glued to a word, '#', '/', '.', '-' or more digits is not a phone.
PHONE = (
    r"(?<![\w#+@/.-])"
    r"(?:\(?(?:\+|00)?855\)?[ .-]?\(?0?\d{1,2}\)?(?:[ .-]?\d){6,7}"
    r"|\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"
    r"|0\d{1,2}(?:[ .-]?\d){6,7})"
    r"(?![\w@]|[/.-]\d)"
)

# Only the digits of a ticket number, after '#', 'ticket', 'ticket number', 'case' and the like:
# the lookbehinds keep the match (and so Rasa's RegexEntityExtractor value) to the digits.
TICKET_ID = (
    r"(?:(?<=#)|(?<=# )|(?<=ticket )|(?<=ticket: )|(?<=ticket no )|(?<=ticket no\. )|(?<=ticket nr )"
    r"|(?<=ticket id )|(?<=ticket number )|(?<=ticket num )|(?<=case )|(?<=case no )|(?<=case no\. )"
    r"|(?<=case number )|(?<=case id )|(?<=ticket id: )|(?<=ticket number: )|(?<=case number: ))"
    r"\d{1,7}\b"
)

# Khmer digits (០-៩) read as 0-9 before matching, so "#១០៤២" gives ticket 1042 and "០១២ ៣៤៥ ៦៧៨" a
# phone number written with ASCII digits. One character for one: entity offsets stay those of the text.
KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")

DEFAULT_REGEXES: dict[str, list[str]] = {"email": [EMAIL], "phone": [PHONE], "ticket_id": [TICKET_ID]}
