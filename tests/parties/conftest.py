from tests.factories import fast_password_hashing  # noqa: F401  (autouse: cheaper argon2id in these tests)
