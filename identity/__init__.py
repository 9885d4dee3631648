"""Who is who: customers across channels, staff, kiosks, grants, consent, audit and privacy.

Modules follow the project's roles: :mod:`keys` and :mod:`sessions` are pure; :mod:`firebase`
and :mod:`sms` are the boundaries to external services (with :mod:`emulator` as the local
stand-in for Firebase Auth); the rest are stores whose functions take a connection and leave
the transaction to the caller.
"""
