"""Who is who: customers across channels, staff, kiosks, grants, consent, audit and privacy.

Modules follow the project's roles: :mod:`keys` and :mod:`sessions` are pure; :mod:`firebase`
and :mod:`sms` are the boundaries to external services (the local stand-in for Firebase
Auth is a development tool, :mod:`devtools.auth_emulator`); the rest are stores whose
functions take a connection and leave the transaction to the caller.
"""
