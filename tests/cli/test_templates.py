"""`rex job-template ...`: create from a file with inputs, find by name, show, delete."""

from __future__ import annotations

import json


async def test_create_show_and_delete_a_template_by_name(cli, tmp_path):
    script = tmp_path / "install.sh.j2"
    script.write_text("apt-get install -y {{ input('package') }}\n")
    made = await cli.run(
        "job-template", "create", "--name", "Install package", "--file", str(script),
        "--job-category", "Packages", "--description-format", "Install %{package}",
        "--input", "name=package,required=true,description='Package, by name'",
        "--input", "name=version,default=latest",
    )
    assert made.code == 0, made
    assert made.out.startswith("Job template Install package created (id ")

    listed = await cli.run("job-template", "list", "--search", "job_category = Packages")
    assert "Install package" in listed.out and "Run Command" not in listed.out

    info = await cli.run("job-template", "info", "Install package")
    assert info.code == 0, info
    assert "Packages" in info.out and "Package, by name" in info.out
    assert "apt-get install -y {{ input('package') }}" in info.out

    body = json.loads((await cli.run("job-template", "info", "Install package",
                                     "--output", "json")).out)
    inputs = {i["name"]: i for i in body["template_inputs"]}
    assert inputs["package"]["required"] is True
    assert inputs["version"]["default"] == "latest"

    gone = await cli.run("job-template", "delete", "Install package")
    assert gone.code == 0, gone
    missing = await cli.run("job-template", "info", "Install package")
    assert missing.code == 3
    assert missing.err == ("rex: no job template is named 'Install package' "
                           "(`rex job-template list` shows them)\n")


async def test_a_template_the_server_refuses_is_one_line_and_exit_3(cli, tmp_path):
    script = tmp_path / "erb.sh"
    script.write_text("echo <%= input('x') %>\n")
    ran = await cli.run("job-template", "create", "--name", "ERB", "--file", str(script))
    assert ran.code == 3, ran
    assert ran.err.startswith("rex: the server refused the request: ")
    assert ran.err.count("\n") == 1
