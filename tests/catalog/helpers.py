"""Users the catalog tests act as (rights come from the ``User`` alone: not stored) and what they store."""

from __future__ import annotations

from runyard.auth import User

ALICE = User("alice", "user")
BOB = User("bob", "user")
ADMIN = User("root", "admin")

WORKFLOW_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Train" projectName="Models" tags="ml,demo">
  <description>Train a model.</description>
  <variables>
    <variable name="EPOCHS" value="10" model="PA:Integer[1,100]" description="Passes over the data"
              group="Training" advanced="true"/>
    <variable name="TOKEN" value="" model="PA:HIDDEN" hidden="true"/>
  </variables>
  <genericInformation>
    <info name="workflow.icon" value="/icons/train.png"/>
  </genericInformation>
  <taskFlow>
    <task name="Prepare">
      <scriptExecutable><script><code language="bash">echo prepare</code></script></scriptExecutable>
    </task>
    <task name="Fit">
      <depends><task ref="Prepare"/></depends>
      <scriptExecutable><script><code language="bash">echo fit</code></script></scriptExecutable>
    </task>
  </taskFlow>
</job>
"""

WORKFLOW_YAML = b"""name: Greet
variables:
  WHO:
    value: world
    model: PA:NOT_EMPTY_STRING
tasks:
  Say:
    script:
      bash: echo hello $variables_WHO
"""

BROKEN_WORKFLOW = b"""<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Broken">
  <taskFlow>
    <task name="A">
      <depends><task ref="Nowhere"/></depends>
      <scriptExecutable><script><code language="bash">echo a</code></script></scriptExecutable>
    </task>
  </taskFlow>
</job>
"""
