"""product price history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 07:55:00

Items keep the price of the time they were ordered; a rebuild must find that price again
after a set-up changed it, so prices get a history. Existing products start it with their
current price, valid from the start.
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('product_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('product_prices', schema=None) as batch_op:
        batch_op.create_index('ix_product_prices_product', ['product_id', 'valid_from'], unique=False)
    op.execute("INSERT INTO product_prices (product_id, price, valid_from) SELECT id, price, NULL FROM products")


def downgrade() -> None:
    with op.batch_alter_table('product_prices', schema=None) as batch_op:
        batch_op.drop_index('ix_product_prices_product')
    op.drop_table('product_prices')
