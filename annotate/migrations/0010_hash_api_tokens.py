"""Move DRF's plain API tokens into knox's table as digests, then drop the plain table.

Before this migration tokens were DRF ``authtoken`` rows holding the token
itself. Each becomes a knox ``AuthToken`` holding only the token's SHA-512
digest and its first characters, so a script keeps working with the token it
has, until it expires TAGWISE_TOKEN_DAYS after this migration or is revoked
(docs/api.md). The plain table is then dropped: nothing readable is left.
The table is read with SQL because the authtoken app is no longer installed;
a database that never had it has nothing to move.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS

PLAIN_TABLE = "authtoken_token"


def hash_plain_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if PLAIN_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {PLAIN_TABLE}")
        rows = cursor.fetchall()
    expiry = timezone.now() + timedelta(days=settings.TAGWISE_TOKEN_DAYS)
    # auto_now_add sets "created" to now: the token's age restarts with its expiry.
    AuthToken.objects.bulk_create(
        AuthToken(digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id, expiry=expiry)
        for key, user_id in rows
    )
    schema_editor.execute(f"DROP TABLE {PLAIN_TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0009_annotation_queue_reason"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_plain_tokens, migrations.RunPython.noop)]
