"""Pure domain objects: workflows, tasks, variables, scripts, control flow, statuses. No I/O."""

from runyard.model.control_flow import Block as Block
from runyard.model.control_flow import ControlFlow as ControlFlow
from runyard.model.control_flow import FlowAction as FlowAction
from runyard.model.control_flow import IfAction as IfAction
from runyard.model.control_flow import LoopAction as LoopAction
from runyard.model.control_flow import ReplicateAction as ReplicateAction
from runyard.model.durations import parse_duration as parse_duration
from runyard.model.environment import EnvironmentVariable as EnvironmentVariable
from runyard.model.environment import ForkEnvironment as ForkEnvironment
from runyard.model.environment import Parallel as Parallel
from runyard.model.executables import Executable as Executable
from runyard.model.executables import JavaExecutable as JavaExecutable
from runyard.model.executables import NativeExecutable as NativeExecutable
from runyard.model.executables import ScriptExecutable as ScriptExecutable
from runyard.model.files import FileSelector as FileSelector
from runyard.model.scripts import Script as Script
from runyard.model.scripts import SelectionScript as SelectionScript
from runyard.model.scripts import SelectionType as SelectionType
from runyard.model.statuses import JobStatus as JobStatus
from runyard.model.statuses import OnTaskError as OnTaskError
from runyard.model.statuses import Priority as Priority
from runyard.model.statuses import TaskStatus as TaskStatus
from runyard.model.task import Task as Task
from runyard.model.variables import Variable as Variable
from runyard.model.workflow import Workflow as Workflow
