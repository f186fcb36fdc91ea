"""``kb admin``: administrators' accounts, passwords and API tokens."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from kb.cli.common import clean_arg, fail, main, shown


def accounts_store(db: Path | None):
    from kb.accounts.users import Accounts, accounts_path

    return Accounts(db or accounts_path(Path(os.environ.get("KB_BASKET_DB") or "var/basket.sqlite")))


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码 / password", hide_input=True, confirmation_prompt="再输一次 / repeat")


accounts_option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                               help="账户数据库 / accounts file (default: accounts.sqlite beside the basket, "
                                    "var/ or the folder of $KB_BASKET_DB)")
stdin_option = click.option("--password-stdin", is_flag=True,
                            help="从标准输入读一行作为密码 / read the password from one line of stdin")


@main.group("admin")
def admin_group() -> None:
    """管理员账户：上传与删除需要管理员 / administrator accounts (uploads and removals need one)."""


@admin_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reader"]), default="admin", show_default=True,
              help="角色：admin 可写，reader 只能登录 / admin may write, reader may only sign in")
@stdin_option
@accounts_option
def admin_add(name: str, role: str, password_stdin: bool, db: Path | None) -> None:
    """新增用户并设置密码 / add a user and set the password."""
    from kb.accounts.users import AccountError

    store = accounts_store(db)
    try:
        store.add(clean_arg(name), read_password(password_stdin), role)
    except AccountError as exc:
        fail(str(exc))
    click.echo(f"已添加 / added: {name} ({role}) → {shown(store.path)}")


@admin_group.command("passwd")
@click.argument("name")
@stdin_option
@accounts_option
def admin_passwd(name: str, password_stdin: bool, db: Path | None) -> None:
    """修改密码（已登录的会话随之失效）/ change a password (signed-in sessions end)."""
    from kb.accounts.users import AccountError

    try:
        accounts_store(db).set_password(clean_arg(name), read_password(password_stdin))
    except AccountError as exc:
        fail(str(exc))
    click.echo(f"密码已更新 / password changed: {name}")


@admin_group.command("token")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="作废该用户全部令牌 / revoke all of the user's tokens")
@accounts_option
def admin_token(name: str, revoke: bool, db: Path | None) -> None:
    """生成 API 令牌（Authorization: Bearer …，只显示一次）/ print a new API token (shown once)."""
    from kb.accounts.users import AccountError

    store = accounts_store(db)
    if revoke:
        click.echo(f"已作废 / revoked: {store.revoke_tokens(clean_arg(name))}")
        return
    try:
        click.echo(store.issue_token(clean_arg(name)))
    except AccountError as exc:
        fail(str(exc))


@admin_group.command("list")
@accounts_option
def admin_list(db: Path | None) -> None:
    """列出用户 / list the users."""
    users = accounts_store(db).users()
    if not users:
        click.echo("还没有用户，用 kb admin add NAME 添加 / no users yet: kb admin add NAME")
    for user in users:
        click.echo(f"{user['name']}\t{user['role']}\t{time.strftime('%Y-%m-%d', time.localtime(user['created']))}"
                   f"\t令牌 tokens: {user['tokens']}")


@admin_group.command("remove")
@click.argument("name")
@accounts_option
def admin_remove(name: str, db: Path | None) -> None:
    """删除用户及其令牌 / remove a user and their tokens."""
    from kb.accounts.users import AccountError

    try:
        accounts_store(db).remove(clean_arg(name))
    except AccountError as exc:
        fail(str(exc))
    click.echo(f"已删除 / removed: {name}")
