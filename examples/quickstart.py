"""Quick start: users and roles in a SQLite file, with the calls you would make against a Milvus server."""

import os
import tempfile

from milvus_rbac import MilvusClient

# A fresh directory, so that the example can run any number of times.
os.chdir(tempfile.mkdtemp(prefix="milvus-rbac-quickstart-"))

client = MilvusClient("./rbac.db", token="root:Milvus")  # a SQLite file, created on first use
client.create_user(user_name="user_1", password="P@ssw0rd")
client.update_password(user_name="user_1", old_password="P@ssw0rd", new_password="NewP@ssw0rd")
print(client.list_users())  # ['root', 'user_1']
client.create_role(role_name="role_a")
print(client.list_roles())  # ['admin', 'public', 'role_a']
client.grant_role(user_name="user_1", role_name="role_a")
print(client.describe_user(user_name="user_1"))
# {'user_name': 'user_1', 'roles': ('role_a',), 'description': ''}
