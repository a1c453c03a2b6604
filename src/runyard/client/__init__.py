"""Python SDK of a runyard server: ``Client`` (sync) and ``AsyncClient`` (asyncio), and the workflow builder.

::

    from runyard.client import Client, Script, ScriptExecutable, Task, Workflow

    with Client("http://127.0.0.1:8080") as client:
        client.login("alice", "secret")
        hi = Task("Hi", ScriptExecutable(Script("cpython", "result = 42")))
        job_id = client.submit(Workflow("Hi", tasks=[hi]))
        client.wait_for_job(job_id)
        print(client.get_task_result(job_id, "Hi"))   # 42
"""

from runyard.client import documents as documents
from runyard.client.clients import AsyncClient as AsyncClient
from runyard.client.clients import Client as Client
from runyard.client.errors import ApiError as ApiError
from runyard.client.errors import ClientError as ClientError
from runyard.client.errors import ConnectionFailed as ConnectionFailed
from runyard.client.errors import WaitTimeout as WaitTimeout
from runyard.model import Block as Block
from runyard.model import ControlFlow as ControlFlow
from runyard.model import EnvironmentVariable as EnvironmentVariable
from runyard.model import FileSelector as FileSelector
from runyard.model import ForkEnvironment as ForkEnvironment
from runyard.model import IfAction as IfAction
from runyard.model import LoopAction as LoopAction
from runyard.model import NativeExecutable as NativeExecutable
from runyard.model import Parallel as Parallel
from runyard.model import Priority as Priority
from runyard.model import ReplicateAction as ReplicateAction
from runyard.model import Script as Script
from runyard.model import ScriptExecutable as ScriptExecutable
from runyard.model import SelectionScript as SelectionScript
from runyard.model import SelectionType as SelectionType
from runyard.model import Task as Task
from runyard.model import Variable as Variable
from runyard.model import Workflow as Workflow

__all__ = [
    "ApiError",
    "AsyncClient",
    "Block",
    "Client",
    "ClientError",
    "ConnectionFailed",
    "ControlFlow",
    "EnvironmentVariable",
    "FileSelector",
    "ForkEnvironment",
    "IfAction",
    "LoopAction",
    "NativeExecutable",
    "Parallel",
    "Priority",
    "ReplicateAction",
    "Script",
    "ScriptExecutable",
    "SelectionScript",
    "SelectionType",
    "Task",
    "Variable",
    "WaitTimeout",
    "Workflow",
    "documents",
]
