// Checks of deploy/, offline, run by ctest (tests/CMakeLists.txt, deploy/*):
//   node check.mjs kubernetes SOURCE_DIR DEPS_DIR
//     every manifest of deploy/kubernetes parses, passes the Kubernetes API schema of its kind
//     (kubernetes-models) and type-checks against the API types (kubernetes-types, by TypeScript,
//     whose excess-property check catches the misspelled or misplaced fields the schemas let
//     through); the kustomization lists every manifest; references inside the objects resolve.
//   node check.mjs compose SOURCE_DIR DEPS_DIR
//     deploy/compose.yaml passes the compose-spec schema (the copy dclint ships) and describes the
//     cluster: three nodes on the etcd service, each with its own data volume, scraped by the
//     Prometheus configuration, with Grafana provisioned for the dashboards.
//   node check.mjs flags SOURCE_DIR DEPS_DIR CITYTWIN [ETCD]
//     every flag given to `citytwin node` (Dockerfile CMD, compose, Kubernetes) is one that
//     `citytwin node --help` lists; with ETCD, every flag given to etcd is one `etcd --help` lists.
// Prints each problem and exits 1 when there is one.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [check, sourceArg, depsArg, ...rest] = process.argv.slice(2);
const sourceDir = resolve(sourceArg);
const depsDir = resolve(depsArg);
const modules = join(depsDir, "node_modules");
const require = createRequire(join(depsDir, "package.json"));
const YAML = require("yaml");
const deploy = join(sourceDir, "deploy");
const kubeDir = join(deploy, "kubernetes");
const problems = [];
const problem = (where, what) => problems.push(`${where}: ${what}`);

// All documents of a YAML file; a syntax error, a duplicate key or an unresolved alias is a problem.
function readYaml(file) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"), { merge: true, uniqueKeys: true });
  const values = [];
  for (const doc of docs) {
    for (const e of doc.errors) problem(file, `YAML: ${e.message}`);
    if (doc.errors.length === 0 && doc.contents !== null) values.push(doc.toJS({ maxAliasCount: 100 }));
  }
  return values;
}

function kubernetesManifests() {
  const files = readdirSync(kubeDir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
  return files.flatMap((f) => readYaml(join(kubeDir, f)).map((object) => ({ file: f, object })));
}

// apiVersion "apps/v1" -> folder "apps/v1" of kubernetes-models; "v1" -> "v1".
async function modelOf(apiVersion, kind) {
  const stem = join(modules, "kubernetes-models", apiVersion, kind);
  const file = [`${stem}.mjs`, `${stem}.js`].find(existsSync);
  if (!file) return null;
  return (await import(pathToFileURL(file).href))[kind];
}

async function checkKubernetes() {
  const manifests = kubernetesManifests();
  if (manifests.length === 0) problem(kubeDir, "no manifests");
  for (const { file, object } of manifests) {
    const where = `${file} (${object?.kind} ${object?.metadata?.name})`;
    if (!object?.apiVersion || !object?.kind || !object?.metadata?.name) {
      problem(file, "a document without apiVersion, kind and metadata.name");
      continue;
    }
    const Model = await modelOf(object.apiVersion, object.kind);
    if (!Model) {
      problem(where, `no Kubernetes schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (e) {
      problem(where, `schema: ${e.message}`);
    }
  }
  typeCheck(manifests);
  checkKustomization(manifests);
  for (const { file, object } of manifests) checkReferences(file, object, manifests);
}

// Each object as a literal of its kubernetes-types type: TypeScript then reports any field that
// the type does not have, at any depth, and any value of the wrong type.
function typeCheck(manifests) {
  const work = mkdtempSync(join(tmpdir(), "citytwin-deploy-"));
  try {
    const lines = [];
    const imported = new Set();
    manifests.forEach(({ object }, i) => {
      const [group, version] = object.apiVersion.includes("/")
        ? object.apiVersion.split("/") : ["core", object.apiVersion];
      const typeModule = `${group.split(".")[0] === "core" ? "core" : group}/${version}`;
      const alias = `${group.replace(/[^a-zA-Z0-9]/g, "_")}_${version}`;
      if (!imported.has(alias)) {
        lines.push(`import type * as ${alias} from "kubernetes-types/${typeModule}";`);
        imported.add(alias);
      }
      lines.push(`export const m${i}: ${alias}.${object.kind} = ${JSON.stringify(object, null, 1)};`);
    });
    const source = join(work, "manifests.ts");
    writeFileSync(source, lines.join("\n") + "\n");
    const tsc = join(modules, "typescript", "bin", "tsc");
    try {
      execFileSync(process.execPath, [tsc, "--noEmit", "--strict", "--skipLibCheck",
        "--moduleResolution", "node", "--typeRoots", join(modules, "@types"),
        "--baseUrl", modules, source], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      const text = (e.stdout || "") + (e.stderr || "");
      // tsc names a line of the generated file: name the manifest it came from.
      for (const line of text.split("\n").filter((l) => l.includes("error TS"))) {
        const at = /manifests\.ts\((\d+),/.exec(line);
        let owner = "?";
        if (at) {
          const before = lines.join("\n").split("\n").slice(0, Number(at[1])).reverse();
          const decl = before.find((l) => l.startsWith("export const m"));
          if (decl) {
            const m = manifests[Number(/^export const m(\d+)/.exec(decl)[1])];
            owner = `${m.file} (${m.object.kind} ${m.object.metadata.name})`;
          }
        }
        problem(owner, `type: ${line.replace(/^.*error /, "")}`);
      }
      if (!text.includes("error TS")) problem("tsc", text || e.message);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function checkKustomization(manifests) {
  const file = join(kubeDir, "kustomization.yaml");
  if (!existsSync(file)) return problem(kubeDir, "no kustomization.yaml");
  const [k] = readYaml(file);
  if (k?.kind !== "Kustomization") problem(file, "kind is not Kustomization");
  const listed = new Set(k?.resources ?? []);
  const present = new Set(manifests.map((m) => m.file));
  for (const f of listed) if (!present.has(f)) problem(file, `resource ${f} does not exist`);
  for (const f of present) if (!listed.has(f)) problem(file, `${f} is not among its resources`);
  for (const image of k?.images ?? []) {
    const used = manifests.some(({ object }) => containersOf(object).some(
      (c) => c.image === image.name || c.image?.startsWith(`${image.name}:`)));
    if (!used) problem(file, `image ${image.name} is used by no container`);
  }
}

function podSpecOf(object) {
  return object.spec?.template?.spec;
}
function containersOf(object) {
  const pod = podSpecOf(object);
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

// What the schemas cannot see: names that must match across fields and objects.
function checkReferences(file, object, manifests) {
  const where = `${file} (${object.kind} ${object.metadata.name})`;
  const pod = podSpecOf(object);
  if (object.kind === "StatefulSet") {
    const selector = object.spec.selector?.matchLabels ?? {};
    const labels = object.spec.template?.metadata?.labels ?? {};
    for (const [key, value] of Object.entries(selector)) {
      if (labels[key] !== value) problem(where, `selector ${key}=${value} does not match the pod labels`);
    }
    const service = manifests.find(({ object: o }) => o.kind === "Service" &&
      o.metadata.name === object.spec.serviceName);
    if (!service) problem(where, `serviceName ${object.spec.serviceName}: no such Service`);
    else if (service.object.spec.clusterIP !== "None") {
      problem(where, `serviceName ${object.spec.serviceName} is not headless`);
    }
  }
  if (object.kind === "Service" || object.kind === "PodDisruptionBudget") {
    const selector = object.kind === "Service" ? object.spec.selector : object.spec.selector?.matchLabels;
    const targets = manifests.filter(({ object: o }) => podSpecOf(o) && Object.entries(selector ?? {})
      .every(([key, value]) => o.spec.template.metadata?.labels?.[key] === value));
    if (targets.length === 0) problem(where, "its selector matches no pods");
    if (object.kind === "Service") {
      for (const port of object.spec.ports ?? []) {
        if (typeof port.targetPort !== "string") continue;
        const named = targets.some(({ object: o }) => containersOf(o)
          .some((c) => (c.ports ?? []).some((p) => p.name === port.targetPort)));
        if (!named) problem(where, `targetPort ${port.targetPort}: no container port of that name`);
      }
    }
  }
  if (!pod) return;
  const volumes = new Set([...(pod.volumes ?? []).map((v) => v.name),
    ...(object.spec.volumeClaimTemplates ?? []).map((v) => v.metadata?.name)]);
  for (const c of containersOf(object)) {
    const env = new Set((c.env ?? []).map((e) => e.name));
    const ports = new Set((c.ports ?? []).map((p) => p.name));
    for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
      for (const [, name] of arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
        if (!env.has(name)) problem(where, `${c.name}: ${arg} refers to $(${name}), which is not in env`);
      }
    }
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) problem(where, `${c.name}: volumeMount ${m.name}: no such volume`);
    }
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
      if (typeof port === "string" && !ports.has(port)) {
        problem(where, `${c.name}: ${probe} port ${port}: no container port of that name`);
      }
    }
  }
}

// `citytwin node` in a command line: the flags after the subcommand.
function nodeFlags(args) {
  const i = args.indexOf("node");
  return i < 0 ? [] : args.slice(i + 1).filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
}

function composeFile() {
  const file = join(deploy, "compose.yaml");
  const [compose] = readYaml(file);
  return { file, compose: compose ?? {} };
}

function checkCompose() {
  const { file, compose } = composeFile();
  const Ajv = require("ajv");
  const addFormats = require("ajv-formats");
  const schema = JSON.parse(readFileSync(join(modules, "dclint", "schemas", "compose.schema.json"), "utf8"));
  // The schema names the draft-07 meta-schema by an https address that Ajv does not register.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  if (!validate(compose)) {
    for (const e of validate.errors) problem(file, `schema: ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  }
  const services = compose.services ?? {};
  const base = dirname(file);
  for (const [name, s] of Object.entries(services)) {
    if (!s.image && !s.build) problem(file, `service ${name} has neither image nor build`);
    if (s.build) {
      const context = resolve(base, s.build.context ?? ".");
      const dockerfile = resolve(context, s.build.dockerfile ?? "Dockerfile");
      if (!existsSync(dockerfile)) problem(file, `service ${name}: ${dockerfile} does not exist`);
    }
    for (const v of s.volumes ?? []) {
      const source = typeof v === "string" ? v.split(":")[0] : v.source;
      if (source?.startsWith(".") && !existsSync(resolve(base, source))) {
        problem(file, `service ${name}: bind mount source ${source} does not exist`);
      } else if (source && !source.startsWith(".") && !source.startsWith("/") &&
        !(source in (compose.volumes ?? {}))) {
        problem(file, `service ${name}: volume ${source} is not declared under volumes`);
      }
    }
  }

  // The etcd service and the URL the nodes are given.
  const etcd = services.etcd;
  if (!etcd) problem(file, "no etcd service");
  const etcdArgs = etcd?.command ?? [];
  for (const flag of ["--advertise-client-urls=http://etcd:2379", "--auto-compaction-mode=revision",
    "--auto-compaction-retention=1000"]) {
    if (!etcdArgs.includes(flag)) problem(file, `etcd is not run with ${flag}`);
  }
  const nodes = Object.entries(services).filter(([, s]) => (s.command ?? [])[0] === "node");
  if (nodes.length !== 3) problem(file, `${nodes.length} citytwin nodes, not 3`);
  const ids = new Set();
  for (const [name, s] of nodes) {
    const args = s.command;
    const value = (flag) => args[args.indexOf(flag) + 1];
    if (value("--cluster") !== "etcd://etcd:2379") problem(file, `${name}: --cluster is not etcd://etcd:2379`);
    if (!(s.depends_on && "etcd" in s.depends_on)) problem(file, `${name} does not depend on etcd`);
    if (!value("--node-id")) problem(file, `${name}: no --node-id`);
    if (ids.has(value("--node-id"))) problem(file, `${name}: node id ${value("--node-id")} is not unique`);
    ids.add(value("--node-id"));
    if (!value("--zone")) problem(file, `${name}: no --zone`);
    if (!s.healthcheck) problem(file, `${name}: no healthcheck`);
    const dataDir = value("--data-dir");
    const onVolume = (s.volumes ?? []).some((v) => typeof v === "string" &&
      v.split(":")[1] === dataDir && v.split(":")[0] in (compose.volumes ?? {}));
    if (!onVolume) problem(file, `${name}: --data-dir ${dataDir} is not a named volume`);
  }

  // Prometheus scrapes every node's metrics port; the rules are observability's.
  const promFile = join(deploy, "prometheus", "prometheus.yml");
  const [prom] = readYaml(promFile);
  const targets = new Set((prom?.scrape_configs ?? []).flatMap((c) => (c.static_configs ?? [])
    .flatMap((s) => s.targets ?? [])));
  for (const [name, s] of nodes) {
    const port = s.command[s.command.indexOf("--metrics") + 1].split(":").pop();
    if (!targets.has(`${name}:${port}`)) problem(promFile, `does not scrape ${name}:${port}`);
  }
  if (!(prom?.rule_files ?? []).includes("rules.yml")) problem(promFile, "does not load rules.yml");
  const promDockerfile = readFileSync(join(deploy, "prometheus.Dockerfile"), "utf8");
  if (!/COPY observability\/prometheus\/rules\.yml \/etc\/prometheus\/rules\.yml/.test(promDockerfile)) {
    problem("deploy/prometheus.Dockerfile", "does not put observability's rules beside the configuration");
  }

  // Grafana: the provisioned data source is the one the dashboards use.
  const dsFile = join(deploy, "grafana", "provisioning", "datasources", "prometheus.yaml");
  const [ds] = readYaml(dsFile);
  const source = (ds?.datasources ?? []).find((d) => d.type === "prometheus");
  if (!source) problem(dsFile, "no Prometheus data source");
  else if (source.url !== "http://prometheus:9090" || !("prometheus" in services)) {
    problem(dsFile, `url ${source.url} is not the prometheus service`);
  }
  const dashboards = join(sourceDir, "observability", "grafana");
  for (const f of readdirSync(dashboards).filter((f) => f.endsWith(".json"))) {
    const board = JSON.parse(readFileSync(join(dashboards, f), "utf8"));
    const variables = new Map((board.templating?.list ?? []).map((v) => [v.name, v]));
    const uids = new Set();
    JSON.stringify(board, (key, value) => {
      if (key === "datasource" && value && typeof value === "object" && value.uid) uids.add(value.uid);
      return value;
    });
    for (const uid of uids) {
      const variable = /^\$\{?(\w+)\}?$/.exec(uid);
      if (variable) {
        const v = variables.get(variable[1]);
        if (v?.type !== "datasource" || v.query !== "prometheus") {
          problem(f, `data source ${uid} is not a Prometheus data source variable`);
        } else if (!source?.isDefault) {
          problem(dsFile, `the data source is not the default, which ${f}'s variable ${uid} picks`);
        }
      } else if (uid !== source?.uid) {
        problem(f, `data source uid ${uid} is not the provisioned ${source?.uid}`);
      }
    }
  }
  const grafana = services.grafana;
  const mounts = (grafana?.volumes ?? []).map((v) => v.split(":"));
  const provider = readYaml(join(deploy, "grafana", "provisioning", "dashboards", "citytwin.yaml"))[0];
  const path = provider?.providers?.[0]?.options?.path;
  if (!mounts.some(([from, to]) => from === "../observability/grafana" && to === path)) {
    problem(file, `grafana does not mount observability/grafana at the provider's path ${path}`);
  }
  if (!mounts.some(([from, to]) => from === "./grafana/provisioning" && to === "/etc/grafana/provisioning")) {
    problem(file, "grafana does not mount grafana/provisioning at /etc/grafana/provisioning");
  }
}

function helpFlags(program, args) {
  let text;
  try {
    text = execFileSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    // etcd prints its help on stderr; a non-zero exit with help text is still help.
    text = (e.stdout || "") + (e.stderr || "");
  }
  return new Set([...text.matchAll(/(^|[\s,\[])(--[a-z][a-z0-9.-]*)/g)].map((m) => m[2]));
}

function checkFlags([citytwin, etcd]) {
  const known = helpFlags(citytwin, ["node", "--help"]);
  if (known.size < 10) problem(citytwin, "node --help lists almost no flags");
  const uses = [];
  // The Dockerfile's CMD (JSON form, continued over lines).
  const dockerfile = readFileSync(join(deploy, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!cmd) problem("deploy/Dockerfile", "no CMD in JSON form");
  else uses.push(["deploy/Dockerfile CMD", JSON.parse(cmd[1])]);
  const { compose } = composeFile();
  for (const [name, s] of Object.entries(compose.services ?? {})) {
    if ((s.command ?? [])[0] === "node") uses.push([`deploy/compose.yaml ${name}`, s.command]);
  }
  const etcdUses = [[`deploy/compose.yaml etcd`, compose.services?.etcd?.command ?? []]];
  for (const { file, object } of kubernetesManifests()) {
    for (const c of containersOf(object)) {
      const args = [...(c.command ?? []), ...(c.args ?? [])];
      if (args[0] === "node") uses.push([`deploy/kubernetes/${file} ${c.name}`, args]);
      if (c.name === "etcd") etcdUses.push([`deploy/kubernetes/${file} ${c.name}`, args]);
    }
  }
  if (uses.length < 3) problem("deploy", `only ${uses.length} citytwin node command lines found`);
  for (const [where, args] of uses) {
    for (const flag of nodeFlags(args)) {
      if (!known.has(flag)) problem(where, `${flag} is not a flag of citytwin node`);
    }
  }
  if (etcd) {
    const etcdKnown = helpFlags(etcd, ["--help"]);
    if (etcdKnown.size < 10) problem(etcd, "--help lists almost no flags");
    for (const [where, args] of etcdUses) {
      for (const flag of args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0])) {
        if (!etcdKnown.has(flag)) problem(where, `${flag} is not a flag of etcd`);
      }
    }
  }
}

if (check === "kubernetes") await checkKubernetes();
else if (check === "compose") checkCompose();
else if (check === "flags") checkFlags(rest);
else problem("check.mjs", `unknown check ${check}`);

for (const p of problems) console.log(p);
console.log(problems.length === 0 ? `deploy ${check}: ok` : `deploy ${check}: ${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
