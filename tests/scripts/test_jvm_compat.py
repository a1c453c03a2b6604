"""The ProActive classes Groovy scripts import (runyard.scripts.jvm.compat), as the corpus uses them: in
Groovy scripts holding a job's token against a live server, and in real Groovy tasks of service workflows
(the PSA Java client recording the instance its job serves), with the reach of a job token on
``/cloud-automation-service`` (another user's instance, an instance the job does not serve)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from runyard.client import ApiError, Client
from runyard.errors import RunyardError
from runyard.model import Script
from runyard.scripts import Bindings, JavaMap, get_engine, run_script
from runyard.taskapi import TaskApis
from support.needs import missing
from support.server import LiveServer, live_server
from taskapi.conftest import job_token, running_job

PSA = "/cloud-automation-service"
TIMEOUT = 60
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "proactive-examples"
#: The imports this module is about: ProActive's, guava's, commons-lang3's.
COMPAT_IMPORT = re.compile(
    r"^\s*import (org\.ow2\.proactive|org\.objectweb|com\.google|org\.apache\.commons)", re.M
)
#: Corpus scripts that do not compile on ProActive either, or import what is not here: why.
NOT_COMPILING = {
    "Controls/resources/catalog/execute_action_PSA_service.xml#Execute_Action_PSA_Service#scriptExecutable": (
        "expecting ')'"  # the corpus' own syntax error
    ),
    "Controls/resources/catalog/Send_Signal_To_Another_Job.xml#send_signal#scriptExecutable": (
        "unable to resolve class io.restassured"  # REST-assured: no Debian package
    ),
    "GetStarted/resources/catalog/parallel_image_processing.xml#process-part#scriptExecutable": (
        "unable to resolve class com.CannyEdgeDetector"  # the example's own jar, not in the corpus
    ),
}

HELPERS = r"""
import org.ow2.proactive.scheduler.common.job.JobVariable
import org.ow2.proactive.scheduler.common.JobFilterCriteria
import org.ow2.proactive.scheduler.common.JobSortParameter
import org.ow2.proactive.db.SortParameter
import org.ow2.proactive.db.SortOrder
import org.ow2.proactive.scheduler.common.util.VariableSubstitutor
import org.objectweb.proactive.core.util.ProActiveInet
import com.google.common.base.Strings
import com.google.common.base.Splitter
import com.google.common.net.MediaType
import org.apache.commons.lang3.StringUtils

List<JobVariable> signalVariables = new ArrayList<JobVariable>()
signalVariables.add(new JobVariable("INTEGER_VARIABLE", "12", "PA:INTEGER", "How many", "", false, false))
signalVariables.add(new JobVariable("LIST_VARIABLE", "True", "PA:LIST(True,False)", "", "Group", true, false))
Set signals = new HashSet<>(Splitter.on(',').trimResults().omitEmptyStrings().splitToList(" Go, ,Stop"))
signals.each { signalapi.readyForSignal(it, signalVariables) }

def name = variables.get("NAME")
def criteria = new JobFilterCriteria(false, false, true, false, false, name, null, null, null)
def sort = new SortParameter(JobSortParameter.ID, SortOrder.ASC)
def page = schedulerapi.getJobs(0, 1000000000, criteria, [sort])
def ended = new JobFilterCriteria(false, false, false, true, false, name, null, null, null)
def none = schedulerapi.getJobs(0, 10, ended, [])

def address = ProActiveInet.getInstance().getInetAddress()
result = [
    signalapi.getJobSignals().sort(),
    page.getList().collect { it.getJobId() as String },
    none.getList().size(),
    VariableSubstitutor.filterAndUpdate('${A}-${B}-$C-${UNKNOWN}', [A: "a", B: '${C}', C: "c"]),
    address.getHostAddress() == java.net.InetAddress.getByName(address.getHostAddress()).getHostAddress(),
    Strings.isNullOrEmpty(variables.get("MISSING")), MediaType.JPEG.toString(),
    StringUtils.countMatches("a\nb\n", "\n"),
    signalVariables[1].toString(),
]
"""

#: A service's activation: its Groovy task records the instance through the PSA Java client, as the corpus'
#: Post_Start_Service does (plus what Find_and_set_Instance_Id and Service_Start read).
ACTIVATION = r"""
name: @NAME@
variables:
  INSTANCE_NAME: compat-$PA_JOB_ID
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      groovy: |-
        import org.ow2.proactive.pca.service.client.ApiClient
        import org.ow2.proactive.pca.service.client.api.ServiceInstanceRestApi
        import org.ow2.proactive.pca.service.client.api.CatalogRestApi
        import org.ow2.proactive.pca.service.client.api.IpUtilsRestApi
        import org.ow2.proactive.pca.service.client.model.Deployment
        import org.ow2.proactive.pca.service.client.model.Node
        import org.ow2.proactive.pca.service.client.model.Container

        def instanceId = variables.get("PCA_INSTANCE_ID") as long
        schedulerapi.connect()
        def sessionId = schedulerapi.getSession()
        def apiClient = new ApiClient()
        apiClient.setBasePath(variables.get('PA_CLOUD_AUTOMATION_REST_URL'))
        def api = new ServiceInstanceRestApi(apiClient)
        def catalog = new CatalogRestApi(apiClient)

        def starting = catalog.getWorkflowsByServiceId(sessionId, "@SERVICE@")
        def byService = catalog.listAllWorkflowsByServiceId(sessionId)
        def first = starting[0]
        def found = catalog.getWorkflowByCatalogObject(sessionId, first.getBucket(), first.getName())

        def node = new Node()
        node.setName(variables.get("PA_NODE_NAME"))
        node.setHost(variables.get("PA_NODE_HOST"))
        node.setNodeSourceName(variables.get("PA_NODE_SOURCE"))
        node.setUrl(variables.get("PA_NODE_URL"))
        def propagated = api.getServiceInstance(sessionId, instanceId)  // as Propagate_variables_... does
        propagated.getVariables().put("PROPAGATED", "yes")
        api.updateServiceInstance(sessionId, instanceId, propagated)  // its status: VOID, as read

        def deployment = new Deployment()
        deployment.setNode(node)
        def data = api.getServiceInstance(sessionId, instanceId)
        data.setInstanceStatus("RUNNING")
        data = data.addDeploymentsItem(deployment).addGroupsItem("compat-group")
        def listed = api.getServiceInstances(sessionId, null).find { it.getInstanceId() == instanceId }
        def serviceId = found.getGenericInformation().getServiceId()
        def submission = data.getJobSubmissions().find { it.getTransitionState() == "VOID -> RUNNING" }
        data.getVariables().put("SEEN_STATUS", listed.getInstanceStatus())
        data.getVariables().put("FOUND", serviceId + " " + byService.containsKey("@SERVICE@"))
        data.getVariables().put("PUBLIC_ADDR", new IpUtilsRestApi(apiClient).getMyRemotePublicAddr(sessionId))
        data.getVariables().put("SUBMISSION", submission.getJobId() as String)
        data = api.updateServiceInstance(sessionId, instanceId, data)
        println(data)
        result = data.getDeployments().size()
"""

#: The service's action finishing it, through the PSA client too (its job serves the instance).
FINISH = r"""
name: Compat_Finish
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (RUNNING,FINISHED)
tasks:
  Finish:
    script:
      groovy: |-
        import org.ow2.proactive.pca.service.client.ApiClient
        import org.ow2.proactive.pca.service.client.api.ServiceInstanceRestApi

        def url = variables.get('PA_CLOUD_AUTOMATION_REST_URL')
        def api = new ServiceInstanceRestApi(new ApiClient().setBasePath(url))
        def id = variables.get("PCA_INSTANCE_ID") as long
        def data = api.getServiceInstance(schedulerapi.getSession(), id)
        data.setInstanceStatus("FINISHED")
        api.updateServiceInstance(schedulerapi.getSession(), id, data)
"""

#: What trigger_PSA_service and execute_action_PSA_service do: start a service, run an action on it.
START_OR_ACT = r"""
import org.ow2.proactive.pca.service.client.ApiClient
import org.ow2.proactive.pca.service.client.ApiException
import org.ow2.proactive.pca.service.client.api.ServiceInstanceRestApi
import org.ow2.proactive.pca.service.client.model.ServiceDescription

def api = new ServiceInstanceRestApi(new ApiClient().setBasePath(variables.get('URL')))
def description = new ServiceDescription()
description.setBucketName(variables.get("BUCKET"))
description.setWorkflowName(variables.get("WORKFLOW"))
description.putVariablesItem("INSTANCE_NAME", "started-by-a-task")
def jobId = variables.get("PARENT") as Integer
def session = schedulerapi.getSession()
try {
    if (variables.get("ID")) {
        def id = variables.get("ID") as long
        result = api.launchServiceInstanceAction(session, id, description, jobId).getInstanceId()
    } else {
        result = api.createRunningServiceInstance(session, description, jobId).getInstanceId()
    }
} catch (ApiException e) {
    result = e.getCode()
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    try:
        get_engine("groovy")
    except RunyardError as why:
        missing(f"no groovy engine here: {why} (scripts/setup installs it)")
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Iterator[Client]:
    with server.new_client() as client:
        yield client


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> Iterator[Client]:
    with server.new_client() as client:
        yield client


@pytest.fixture(scope="module")
def job(alice: Client) -> Iterator[int]:
    job_id = running_job(alice)
    yield job_id
    alice.kill_job(job_id)


def service(client: Client) -> tuple[str, str]:
    """A service of the user's own bucket whose activation is :data:`ACTIVATION` and action
    :data:`FINISH`; its id and bucket."""
    service_id = f"Compat_{uuid.uuid4().hex[:8]}"
    bucket = service_id.lower().replace("_", "-")
    client.create_bucket(bucket)
    for name, template in (("Compat_Start", ACTIVATION), ("Compat_Finish", FINISH)):
        text = template.replace("@SERVICE@", service_id).replace("@NAME@", name)
        client.push_object(bucket, name, text, kind="workflow")
    return service_id, bucket


@pytest.fixture(scope="module")
def instance(alice: Client) -> dict[str, Any]:
    """Alice's instance, recorded RUNNING by its activation's Groovy task."""
    started = alice.start_service(service(alice)[0])
    done: dict[str, Any] = dict(alice.wait_for_service_instance(started["id"], timeout=TIMEOUT))
    if done["status"] != "RUNNING":
        logs = "\n".join(alice.get_job_output(s["job_id"]) for s in done["job_submissions"])
        raise AssertionError(f"{done}\n{logs}")
    return done


def groovy(
    text: str,
    server: LiveServer,
    client: Client,
    job_id: int,
    tmp_path: Path,
    arguments: Sequence[str] = (),
    **variables: str,
) -> tuple[Any, dict[str, Any]]:
    """Run ``text`` as a Groovy script of a task of ``job_id`` (its job token); its ``result`` and
    variables."""
    token = job_token(server, job_id, client.whoami()["name"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNYARD_URL", server.url)
        patch.setenv("RUNYARD_TOKEN", token)
        bound = JavaMap({"PA_JOB_ID": str(job_id), "PA_TASK_NAME": "Groovy", **variables})
        apis = TaskApis(bound)
        try:
            bindings = Bindings(variables=bound, localspace=str(tmp_path), apis=apis)
            script = Script("groovy", text, arguments=list(arguments))
            output = run_script(script, bindings, label="<groovy>", source_dir=None)
        finally:
            apis.close()
    assert output.values is not None
    return output.values.get("result"), dict(bound)


def test_the_helper_classes_as_the_corpus_calls_them(
    server: LiveServer, alice: Client, job: int, tmp_path: Path
) -> None:
    name = alice.get_job(job)["name"]
    (signals, listed, finished, substituted, address_ok, empty, jpeg, lines, text), _ = groovy(
        HELPERS, server, alice, job, tmp_path, NAME=name
    )
    assert signals == ["ready_Go", "ready_Stop"]
    (go, _) = sorted(alice.list_signals(job)["signals"], key=lambda s: s["name"])
    integer, listed_variable = go["variables"]
    assert integer == {
        **dict.fromkeys(("group",)),
        "name": "INTEGER_VARIABLE",
        "value": "12",
        "model": "PA:INTEGER",
        "description": "How many",
        "advanced": False,
        "hidden": False,
    }
    assert listed_variable["group"] == "Group" and listed_variable["advanced"] is True
    assert listed == [str(job)]  # the running jobs of that name
    assert finished == 0  # none of that name has finished
    assert substituted == "a-c-c-${UNKNOWN}"
    assert address_ok and empty and jpeg == "image/jpeg" and lines == 2
    assert "name='LIST_VARIABLE'" in text and "advanced=true" in text


def test_a_service_workflow_records_its_instance_through_the_psa_client(
    alice: Client, instance: dict[str, Any]
) -> None:
    (deployment,) = instance["deployments"]
    assert deployment["node"]["name"] and deployment["node"]["url"]
    variables = instance["variables"]
    assert variables["SEEN_STATUS"] == "VOID"  # as listed before the update
    assert variables["PROPAGATED"] == "yes"
    service_id = instance["service_id"]
    assert variables["FOUND"] == f"{service_id} true"
    assert variables["PUBLIC_ADDR"] == "127.0.0.1"
    assert variables["SUBMISSION"] == str(instance["job_submissions"][0]["job_id"])
    assert "compat-group" in instance["groups"]


def test_a_job_token_reaches_on_psa_routes_what_it_reaches_natively(
    server: LiveServer, alice: Client, bob: Client, job: int, instance: dict[str, Any], tmp_path: Path
) -> None:
    """Alice's running job (it serves no instance) reads her instances but updates none; Bob's job token
    neither reads nor updates hers; the PSA client says why (403)."""
    own = job_token(server, job, alice.whoami()["name"])
    bobs_job = running_job(bob)
    try:
        bobs = job_token(server, bobs_job, bob.whoami()["name"])
        path = f"{PSA}/serviceInstances/{instance['id']}"
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get(path, headers={"sessionid": own}).status_code == 200
            listed = http.get(f"{PSA}/serviceInstances", headers={"sessionid": own}).json()
            assert [i["instance_id"] for i in listed] == [instance["id"]]
            body = {"instance_status": "ERROR", "variables": {"X": "1"}, "deployments": []}
            refused = http.put(path, json=body, headers={"sessionid": own})
            assert refused.status_code == 403 and "serves" in refused.json()["errorMessage"]
            for method in ("GET", "PUT"):
                answer = http.request(method, path, json=body, headers={"sessionid": bobs})
                assert answer.status_code in (403, 404), answer.text
            assert http.get(f"{PSA}/serviceInstances", headers={"sessionid": bobs}).json() == []
        script = (
            "import org.ow2.proactive.pca.service.client.*\n"
            "import org.ow2.proactive.pca.service.client.api.ServiceInstanceRestApi\n"
            "def api = new ServiceInstanceRestApi(new ApiClient().setBasePath(variables.get('URL')))\n"
            "def id = variables.get('ID') as long\n"
            "try { api.getServiceInstance(schedulerapi.getSession(), id); result = 0 }\n"
            "catch (ApiException e) { result = [e.getCode(), e.getMessage()] }\n"
        )
        (code, _), _ = groovy(
            script, server, bob, bobs_job, tmp_path, URL=server.url + PSA, ID=str(instance["id"])
        )
        assert code in (403, 404)
    finally:
        bob.kill_job(bobs_job)
    after = alice.get_service_instance(instance["id"])
    assert after["status"] == "RUNNING" and "X" not in after["variables"]


def test_an_update_with_bad_input_answers_400_and_changes_nothing(
    server: LiveServer, alice: Client, instance: dict[str, Any]
) -> None:
    session = alice.token
    assert session is not None
    path = f"{PSA}/serviceInstances/{instance['id']}"
    before = alice.get_service_instance(instance["id"])
    recorded = [{"id": 1}]  # the recorded deployment, as read, then a bad one
    bad = [
        {"instance_status": ""},
        {"deployments": [*recorded, {"endpoint": {"id": "e", "url": "http://169.254.169.254/"}}]},
        {"deployments": [*recorded, {"unknown": 1}]},
        {"variables": "not an object"},
        {"variables": {f"V{i}": "x" for i in range(1001)}},  # oversized
        {"groups": ["g"] * 101},
    ]
    with httpx.Client(base_url=server.url, timeout=30, headers={"sessionid": session}) as http:
        for body in bad:
            answer = http.put(path, json=body)
            assert answer.status_code in (400, 422), (body, answer.text)
            assert "errorMessage" in answer.json()
    assert alice.get_service_instance(instance["id"]) == before


def corpus_scripts() -> dict[str, str]:
    """The corpus' Groovy scripts importing ProActive, guava or commons-lang3 classes, by file (and task
    and position)."""
    found: dict[str, str] = {}
    for path in sorted(CORPUS.glob("*/resources/catalog/*")):
        name = str(path.relative_to(CORPUS))
        if path.suffix == ".groovy":
            found[name] = path.read_text()
        elif path.suffix == ".xml":
            for code in etree.parse(str(path)).iter("{*}code"):
                task = next((a.get("name") for a in code.iterancestors("{*}task")), "job")
                ancestors = [etree.QName(a).localname for a in code.iterancestors()]
                position = ancestors[1]  # code < script < scriptExecutable, pre, post...
                if code.get("language") == "groovy" and code.text:
                    found[f"{name}#{task}#{position}"] = code.text
    return {name: text for name, text in found.items() if COMPAT_IMPORT.search(text)}


COMPILE = r"""
def scripts = new groovy.json.JsonSlurper().parseText(variables.get("SCRIPTS"))
result = scripts.collectEntries { name, text ->
    try {
        new GroovyShell(getClass().classLoader).parse(text)
        [(name): null]
    } catch (Throwable e) {
        [(name): e.message]
    }
}
"""


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the ProActive corpus is not at {CORPUS}")
def test_the_corpus_scripts_importing_proactive_classes_compile(
    server: LiveServer, alice: Client, job: int, tmp_path: Path
) -> None:
    scripts = corpus_scripts()
    assert len(scripts) >= 30 and any("PcaScripts" in name for name in scripts)
    errors, _ = groovy(COMPILE, server, alice, job, tmp_path, SCRIPTS=json.dumps(scripts))
    failed = {name: error for name, error in errors.items() if error is not None}
    assert sorted(failed) == sorted(NOT_COMPILING), failed
    for name, reason in NOT_COMPILING.items():
        assert reason in failed[name]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the ProActive corpus is not at {CORPUS}")
def test_the_corpus_script_retrieving_a_service_instances_variables_runs(
    server: LiveServer, alice: Client, job: int, instance: dict[str, Any], tmp_path: Path
) -> None:
    text = (
        CORPUS / "PcaScripts/resources/catalog/Retrieve_variables_from_service_instance_id.groovy"
    ).read_text()
    arguments = [str(instance["id"]), "NAME", "INSTANCE_NAME", "BOTH", "%{INSTANCE_NAME}/%{SEEN_STATUS}"]
    url = server.url + PSA
    _, variables = groovy(text, server, alice, job, tmp_path, arguments, PA_CLOUD_AUTOMATION_REST_URL=url)
    assert variables["NAME"] == instance["variables"]["INSTANCE_NAME"]
    assert variables["BOTH"] == f"{variables['NAME']}/VOID"


def test_a_task_starts_a_service_and_acts_on_it_but_not_on_others(
    server: LiveServer, alice: Client, bob: Client, job: int, instance: dict[str, Any], tmp_path: Path
) -> None:
    """Alice's job starts an instance (recorded under her job) and finishes it; it may not finish the
    instance her session started, nor record a start under Bob's job; Bob's job may not act on hers."""
    _, bucket = service(alice)
    common = {"URL": server.url + PSA, "BUCKET": bucket, "PARENT": str(job)}
    started, _ = groovy(START_OR_ACT, server, alice, job, tmp_path, WORKFLOW="Compat_Start", **common)
    running = alice.wait_for_service_instance(started, timeout=TIMEOUT)
    assert running["status"] == "RUNNING" and running["job_submissions"][0]["parent_job_id"] == job
    assert running["variables"]["INSTANCE_NAME"] == "started-by-a-task"
    bobs_job = running_job(bob)
    try:
        bobs = {**common, "WORKFLOW": "Compat_Finish", "ID": str(started)}
        assert groovy(START_OR_ACT, server, bob, bobs_job, tmp_path, **bobs)[0] in (403, 404)
        foreign_parent = {**common, "WORKFLOW": "Compat_Start", "PARENT": str(bobs_job)}
        assert groovy(START_OR_ACT, server, alice, job, tmp_path, **foreign_parent)[0] == 403
    finally:
        bob.kill_job(bobs_job)
    not_started = {**common, "WORKFLOW": "Compat_Finish", "ID": str(instance["id"])}
    assert groovy(START_OR_ACT, server, alice, job, tmp_path, **not_started)[0] == 403
    assert alice.get_service_instance(instance["id"])["status"] == "RUNNING"
    finish = {**common, "WORKFLOW": "Compat_Finish", "ID": str(started)}
    assert groovy(START_OR_ACT, server, alice, job, tmp_path, **finish)[0] == started
    assert alice.wait_for_service_instance(started, timeout=TIMEOUT)["status"] == "FINISHED"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the ProActive corpus is not at {CORPUS}")
def test_the_corpus_workflow_waiting_for_signals_with_variables_runs_unchanged(alice: Client) -> None:
    """Wait_For_Signals_Reactive_With_Variables (guava's Splitter, JobVariable): its signals are offered with
    their variables; a value that does not fit a model is refused; a good one ends the job."""
    job_id = alice.submit(CORPUS / "Controls/resources/catalog/Wait_For_Signals_Reactive_With_Variables.xml")
    deadline = time.monotonic() + TIMEOUT
    while len(alice.list_signals(job_id)["names"]) < 2:
        assert time.monotonic() < deadline, alice.get_job_output(job_id)
        time.sleep(0.2)
    offered = {s["name"]: [v["name"] for v in s["variables"]] for s in alice.list_signals(job_id)["signals"]}
    assert offered == {"Continue": ["INTEGER_VARIABLE", "LIST_VARIABLE", "BOOLEAN_VARIABLE"], "Stop": []}
    with pytest.raises(ApiError) as refused:
        alice.send_signal(job_id, "Continue", {"INTEGER_VARIABLE": "twelve"})
    assert refused.value.status == 400
    alice.send_signal(job_id, "Continue", {"INTEGER_VARIABLE": "7"})
    assert alice.wait_for_job(job_id, timeout=TIMEOUT)["status"] == "FINISHED"
    assert "INTEGER_VARIABLE:7" in alice.get_job_output(job_id)


#: A service made of the corpus' PcaScripts, unchanged, fetched from the catalog as its workflows do.
PCA_SCRIPTS_SERVICE = {
    "Pca_Start": r"""
name: Pca_Start
variables:
  INSTANCE_NAME: pca-$PA_JOB_ID
  COLOR: blue
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    pre:
      bash: printf 'ok|ok' > clean_status
    script:
      language: groovy
      url: ${PA_CATALOG_REST_URL}/buckets/@BUCKET@/resources/Propagate_variables_to_current_service/raw
      arguments: [COLOR, VARIABLE_VALUE, SHAPE, square]
    post:
      language: groovy
      url: ${PA_CATALOG_REST_URL}/buckets/@BUCKET@/resources/Set_service_FINISHED_if_all_clean_OK/raw
      arguments: [RUNNING, clean_status]
    cleaning:
      language: groovy
      url: ${PA_CATALOG_REST_URL}/buckets/@BUCKET@/resources/Clean_Start_Service/raw
""",
    "Pca_Finish": r"""
name: Pca_Finish
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (RUNNING,FINISHED)
tasks:
  Finish:
    pre:
      groovy: |-
        def channel = "Service_Instance_" + variables.get("PCA_INSTANCE_ID")
        synchronizationapi.createChannelIfAbsent(channel, false)
        new File("clean_status").text = "ok|@CLEAN@"
    script:
      language: groovy
      url: ${PA_CATALOG_REST_URL}/buckets/@BUCKET@/resources/Set_service_FINISHED_if_all_clean_OK/raw
      arguments: [FINISHED, clean_status]
""",
}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the ProActive corpus is not at {CORPUS}")
@pytest.mark.parametrize("clean", ["ok", "ko"])
def test_a_service_made_of_the_corpus_pca_scripts_starts_and_finishes(alice: Client, clean: str) -> None:
    """Propagate_variables_to_current_service, Set_service_FINISHED_if_all_clean_OK and Clean_Start_Service
    from the catalog, unchanged: the start records its variables and RUNNING; the finish FINISHED, or
    ERROR when a clean step failed."""
    service_id = f"Pca_{uuid.uuid4().hex[:8]}"
    bucket = service_id.lower().replace("_", "-")
    alice.create_bucket(bucket)
    for name in (
        "Propagate_variables_to_current_service",
        "Set_service_FINISHED_if_all_clean_OK",
        "Clean_Start_Service",
    ):
        text = (CORPUS / f"PcaScripts/resources/catalog/{name}.groovy").read_text()
        alice.push_object(bucket, name, text, kind="Script/task")
    for name, template in PCA_SCRIPTS_SERVICE.items():
        text = template.replace("@SERVICE@", service_id).replace("@BUCKET@", bucket).replace("@CLEAN@", clean)
        alice.push_object(bucket, name, text, kind="workflow")
    started = alice.start_service(service_id)
    running = alice.wait_for_service_instance(started["id"], timeout=TIMEOUT)
    logs = "\n".join(alice.get_job_output(s["job_id"]) for s in running["job_submissions"])
    assert running["status"] == "RUNNING", logs
    assert running["variables"]["COLOR"] == "blue" and running["variables"]["SHAPE"] == "square"
    alice.run_service_action(started["id"], "Pca_Finish")
    done = alice.wait_for_service_instance(started["id"], timeout=TIMEOUT)
    assert done["status"] == ("FINISHED" if clean == "ok" else "ERROR"), done
