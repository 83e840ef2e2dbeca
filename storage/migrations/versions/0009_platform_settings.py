"""platform settings (the set-up's [settings] table)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:00:00

What an operator tunes (group pacing, the digest interval, the evening summary time, the
reminder lead, the send-failure alert limit) is kept with the platform, so every command that
opens the database (the live bot, the console, replay) runs with the same settings.
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('platform', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settings', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('platform', schema=None) as batch_op:
        batch_op.drop_column('settings')
