"""setup revision counter

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:45:00

The bot keeps groups, campaigns, catalogs and order scopes in memory between messages; one
counter, bumped by every set-up change, tells every process when to read them again.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('setup_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO setup_revision (id, value) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table('setup_revision')
