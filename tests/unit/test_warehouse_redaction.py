"""No secret reaches SYS_QUERY_HISTORY's query text."""

from helpers.localcloud.warehouse.redaction import redact


def test_passwords_and_credentials_are_masked():
    assert redact("CREATE USER firehose_user PASSWORD 'md5abc'") == "CREATE USER firehose_user PASSWORD '***'"
    assert redact("alter user u with password 'Secret1''x'") == "alter user u with password '***'"
    copy = "COPY t FROM 's3://b/k' CREDENTIALS 'aws_access_key_id=A;aws_secret_access_key=B' JSON 'auto'"
    assert redact(copy) == "COPY t FROM 's3://b/k' CREDENTIALS '***' JSON 'auto'"
    assert redact("COPY t FROM 's3://b/k' SECRET_ACCESS_KEY 'B' ACCESS_KEY_ID 'A'").count("'***'") == 2


def test_other_literals_are_kept():
    sql = "SELECT 'password' AS word, col FROM t WHERE note = 'credentials'"
    assert redact(sql) == sql
