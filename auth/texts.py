"""The texts of the login, account and admin pages, in Dutch (default) and English."""

from __future__ import annotations

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

TEXTS: dict[str, tuple[str, str]] = {
    "login_title": ("Inloggen", "Log in"),
    "login_intro": ("Log in om de spiegelinformatie van uw organisatie te bekijken.",
                    "Log in to see your organisation's mirror information."),
    "username": ("Gebruikersnaam", "Username"),
    "password": ("Wachtwoord", "Password"),
    "remember_me": ("Ingelogd blijven op dit apparaat", "Keep me logged in on this device"),
    "log_in": ("Inloggen", "Log in"),
    "log_out": ("Uitloggen", "Log out"),
    "logout_question": ("Wilt u uitloggen?", "Do you want to log out?"),
    "logged_out": ("U bent uitgelogd.", "You have been logged out."),
    "session_expired": ("Uw sessie is verlopen omdat u een tijd niets hebt gedaan. Log opnieuw in.",
                        "Your session expired after a period of inactivity. Please log in again."),
    "login_required": ("Log in om deze pagina te bekijken.", "Please log in to see this page."),
    "bad_credentials": ("De combinatie van gebruikersnaam en wachtwoord is onjuist.",
                        "The username and password do not match."),
    "throttled": ("Te veel mislukte inlogpogingen. Probeer het over {minutes} minuten opnieuw.",
                  "Too many failed login attempts. Please try again in {minutes} minutes."),
    "form_expired": ("Het formulier is verlopen. Probeer het opnieuw.", "The form has expired. Please try again."),
    "language_switch": ("English", "Nederlands"),
    "skip_to_content": ("Naar de inhoud", "Skip to content"),
    "to_dashboard": ("Naar het dashboard", "To the dashboard"),
    "account_title": ("Mijn account", "My account"),
    "role": ("Rol", "Role"),
    "organisations": ("Organisaties", "Organisations"),
    "all_organisations": ("alle organisaties", "all organisations"),
    "no_organisations": ("geen (landelijke en geanonimiseerde cijfers)", "none (national and anonymised figures)"),
    "api_tokens": ("API-tokens", "API tokens"),
    "api_tokens_intro": ("Met een persoonlijk token haalt u cijfers op via de API (kop "
                         "`Authorization: Bearer <token>` op /api/v1/...). Het token ziet wat u mag zien. "
                         "U ziet het token één keer: bewaar het veilig.",
                         "A personal token lets you fetch figures through the API (header "
                         "`Authorization: Bearer <token>` on /api/v1/...). The token sees what you may see. "
                         "It is shown once: keep it safe."),
    "token_label": ("Omschrijving", "Label"),
    "create_token": ("Token aanmaken", "Create token"),
    "new_token": ("Uw nieuwe token (wordt maar één keer getoond):", "Your new token (shown only once):"),
    "revoke": ("Intrekken", "Revoke"),
    "revoked": ("ingetrokken", "revoked"),
    "token_revoked": ("Het token is ingetrokken.", "The token has been revoked."),
    "no_tokens": ("U hebt nog geen tokens.", "You have no tokens yet."),
    "token_start": ("Begint met", "Starts with"),
    "created": ("Aangemaakt", "Created"),
    "last_used": ("Laatst gebruikt", "Last used"),
    "status": ("Status", "Status"),
    "active": ("actief", "active"),
    "disabled": ("uitgeschakeld", "disabled"),
    "never": ("nooit", "never"),
    "admin_title": ("Beheer: gebruikers", "Administration: users"),
    "audit_title": ("Beheer: auditlog", "Administration: audit log"),
    "users": ("Gebruikers", "Users"),
    "audit_log": ("Auditlog", "Audit log"),
    "add_user": ("Gebruiker toevoegen", "Add user"),
    "display_name": ("Naam", "Name"),
    "organisation_code": ("Organisatiecode", "Organisation code"),
    "organisation_code_help": ("Verplicht voor zorgverlener (praktijk of ziekenhuis) en VSV; leeg voor onderzoeker "
                               "en beheerder.",
                               "Required for provider (practice or hospital) and VSV; empty for researcher and "
                               "admin."),
    "last_login": ("Laatste login", "Last login"),
    "actions": ("Acties", "Actions"),
    "disable": ("Uitschakelen", "Disable"),
    "enable": ("Inschakelen", "Enable"),
    "reset_password": ("Nieuw wachtwoord", "New password"),
    "grant": ("Organisatie toekennen", "Grant organisation"),
    "revoke_grant": ("Toekenning intrekken", "Revoke grant"),
    "new_password_for": ("Nieuw wachtwoord voor {username} (wordt maar één keer getoond):",
                         "New password for {username} (shown only once):"),
    "user_added": ("Gebruiker {username} aangemaakt. Wachtwoord (wordt maar één keer getoond):",
                   "User {username} created. Password (shown only once):"),
    "done": ("Gedaan.", "Done."),
    "when": ("Wanneer (UTC)", "When (UTC)"),
    "who": ("Wie", "Who"),
    "action": ("Actie", "Action"),
    "target": ("Waarop", "What"),
    "detail": ("Details", "Detail"),
    "address": ("Adres", "Address"),
    "filter_action": ("Toon actie", "Show action"),
    "all_actions": ("alle", "all"),
    "show": ("Toon", "Show"),
    "role_provider": ("zorgverlener", "provider"),
    "role_vsv": ("VSV", "VSV"),
    "role_researcher": ("onderzoeker", "researcher"),
    "role_admin": ("beheerder", "admin"),
    "forbidden": ("U hebt geen toegang tot deze pagina.", "You do not have access to this page."),
}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def text(key: str, language: str, **values: object) -> str:
    nl, en = TEXTS[key]
    chosen = en if language == "en" else nl
    return chosen.format(**values) if values else chosen
