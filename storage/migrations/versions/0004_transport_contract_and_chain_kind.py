"""message account, raw payload and native flag; chain kind

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:00:00

The log keeps what a transport said about each message (which bot account got it, the
platform's raw payload, whether it vouched for a native 接龙), so a rebuild reads it exactly as
the live bot did. Free-text pseudo-chains get a kind instead of a key suffix (a title that
folds to "…free" looked like one under LIKE, where `_` matches any character).
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_FREE_SUFFIX = "__free__"


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('raw', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('native_chain', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('chains', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='chain'))
    # Compared as a plain suffix (substr), never with LIKE.
    op.execute(sa.text("UPDATE chains SET kind = 'free' "
                       "WHERE substr(chain_key, length(chain_key) - :n + 1) = :suffix")
               .bindparams(n=len(_FREE_SUFFIX), suffix=_FREE_SUFFIX))


def downgrade() -> None:
    with op.batch_alter_table('chains', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('native_chain')
        batch_op.drop_column('raw')
        batch_op.drop_column('account')
