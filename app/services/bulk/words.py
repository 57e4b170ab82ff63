"""Words for generated tickets: titles, details, replies and names (see the package docstring)."""

FILLERS = {
    "place": ("the third floor", "building B", "the London office", "reception", "the warehouse"),
    "system": ("SAP", "Salesforce", "the HR portal", "Jira", "the payroll system"),
    "device": ("my laptop", "the desktop PC", "my docking station", "the meeting room PC"),
    "app": ("Outlook", "Teams", "Excel", "Adobe Reader", "Chrome", "Zoom"),
    "share": ("finance", "marketing", "legal", "projects"),
    "topic": ("the new phone policy", "software licences", "remote work equipment"),
}
TITLE_TEMPLATES = {
    "network": (
        "VPN drops every few minutes",
        "VPN will not connect from home",
        "Wi-Fi is slow in {place}",
        "No network at my desk in {place}",
        "Cannot reach {system} from {place}",
        "Network printer unreachable in {place}",
    ),
    "hardware": (
        "Laptop battery swollen",
        "{device} will not power on",
        "Screen flickers on {device}",
        "Printer jams in {place}",
        "Keyboard keys stuck on {device}",
        "Replacement charger needed for {device}",
    ),
    "software": (
        "{app} crashes on start",
        "{app} is very slow",
        "Please install {app}",
        "{app} licence expired",
        "{app} update failed",
        "Error when saving in {app}",
    ),
    "access": (
        "Need access to the {share} share",
        "Password reset for {system}",
        "Account locked in {system}",
        "Lost my MFA device",
        "New starter needs a {system} account",
        "Remove {system} access for a leaver",
    ),
    "other": (
        "Question about {topic}",
        "Request for {device} replacement",
        "Desk move to {place}",
        "Meeting room screen in {place} not working",
    ),
}
DETAILS = {
    "network": (
        "The connection drops and comes back after a minute.",
        "Pages time out and video calls freeze.",
        "The VPN client says the gateway cannot be reached.",
        "The cable is plugged in but the network icon shows no connection.",
    ),
    "hardware": (
        "It makes a clicking noise and then switches off.",
        "The fan is very loud and the case gets hot.",
        "Nothing happens when I press the power button.",
        "The problem started after the last office move.",
    ),
    "software": (
        "An error dialog appears and the application closes.",
        "It takes minutes to open a file.",
        "I need it for the quarterly report.",
        "Reinstalling did not help.",
    ),
    "access": (
        "I get 'access denied' when I open it.",
        "My manager has approved the request.",
        "The account was locked after the password change.",
        "The new colleague starts on Monday.",
    ),
    "other": (
        "Please let me know who to ask.",
        "It is not urgent but would help the team.",
        "Several people have asked me about this.",
    ),
}
CONTEXT = (
    "It started this morning.",
    "It has happened several times this week.",
    "Colleagues nearby have the same problem.",
    "I already restarted my computer.",
    "I am working from home today.",
    "This blocks my work.",
)
AGENT_REPLIES = (
    "Thanks for reporting this; I am looking into it now.",
    "Could you tell me which version you are using?",
    "Can you send a screenshot of the error message?",
    "I have restarted the service on our side; please try again.",
    "A technician will come by this afternoon.",
    "This should be fixed now; please confirm that it works for you.",
)
INTERNAL_NOTES = (
    "Escalated to the vendor; waiting for their answer.",
    "Known issue, linked to the open problem record.",
    "Spare part ordered from stock room B.",
    "Checked the logs; nothing obvious yet.",
    "Needs approval from the requester's manager.",
)
REQUESTER_REPLIES = (
    "Thanks, it works again.",
    "It happened again just now.",
    "I am on Windows 11 with the latest updates.",
    "Any update on this?",
    "Screenshot attached; the error code is E-42.",
    "I will be in the office tomorrow if you need the device.",
)
FIRST_NAMES = (
    "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas",
    "Klara", "Leo", "Maya", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Samir", "Tara",
)  # fmt: skip
LAST_NAMES = (
    "Adler", "Brown", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka",
    "Weber",
)  # fmt: skip
DEPARTMENTS = ("Finance", "Sales", "Marketing", "HR", "Legal", "Operations", "Engineering")


def _titles(category: str) -> tuple[str, ...]:
    titles = []
    for template in TITLE_TEMPLATES[category]:
        names = [name for name in FILLERS if "{" + name + "}" in template]
        values = FILLERS[names[0]] if names else ("",)
        titles.extend(template.format(**{name: value for name in names}) for value in values)
    return tuple(titles)


TITLES = {category: _titles(category) for category in TITLE_TEMPLATES}
