/**
 * Converts TypeScript `private` class members to ECMAScript `#private` ones, with every reference
 * renamed: fields, methods, get/set accessors and constructor parameter properties (which become a
 * `#field` declared before the constructor and assigned at the top of its body, after `super()`).
 *
 *   npx tsx scripts/codemods/private-fields.ts [--dry-run] [--project tsconfig.json] [file ...]
 *
 * With no files it converts every class the tsconfig covers (the root one by default). It edits text only where a
 * conversion is safe and leaves formatting to Prettier (`npm run format` afterwards). A member is
 * skipped, and listed with its reason, when `#` would change what the code does or cannot be checked:
 * - a reference that is not `expr.name` (`this['name']`, destructuring, `Foo['name']` types, ...);
 * - `expr.name` through `any` or a type assertion, or `expr['name']`, in a file that can see the
 *   class: TypeScript does not link these to the member (a test poking at internals);
 * - a method with overloads, a parameter property whose inferred type cannot be written, a name
 *   that is not an identifier, or a `#name` the class already has.
 * `private constructor` stays: it has no `#` form. The exit code is 0; the list of skips is the
 * result to act on.
 */
import {
  Node,
  Project,
  SyntaxKind,
  type ClassDeclaration,
  type ClassExpression,
  type Identifier,
  type ParameterDeclaration,
  type SourceFile,
  type Symbol as MorphSymbol,
} from 'ts-morph';

type ClassLikeDeclaration = ClassDeclaration | ClassExpression;

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

interface Conversion {
  readonly file: SourceFile;
  readonly edits: Edit[];
  readonly kind: 'field' | 'method' | 'accessor' | 'parameter property';
}

const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const projectAt = args.indexOf('--project');
const tsConfigFilePath = projectAt >= 0 ? args.splice(projectAt, 2)[1]! : 'tsconfig.json';
const only = args.filter((a) => !a.startsWith('--'));

const project = new Project({ tsConfigFilePath });
const files = (only.length > 0 ? only.map((f) => project.getSourceFileOrThrow(f)) : project.getSourceFiles()).filter(
  (f) => !f.isDeclarationFile() && !f.isInNodeModules(),
);

const skipped: string[] = [];
const conversions: Conversion[] = [];

/** Where a node is, for the report. */
function where(node: Node): string {
  return `${node
    .getSourceFile()
    .getFilePath()
    .replace(process.cwd() + '/', '')}:${node.getStartLineNumber()}`;
}

/** Removes the `private` (and, for parameter properties, `readonly`) keyword with the space after it. */
function dropKeyword(node: Node, kind: SyntaxKind): Edit | undefined {
  const keyword = Node.isModifierable(node) ? node.getModifiers().find((m) => m.getKind() === kind) : undefined;
  if (!keyword) return undefined;
  const text = node.getSourceFile().getFullText();
  let end = keyword.getEnd();
  while (text[end] === ' ') end++;
  return { start: keyword.getStart(), end, text: '' };
}

const UNCHECKED = "reached where TypeScript cannot follow it (through any, a type assertion or ['name'])";

/**
 * Accesses TypeScript cannot link to a member but that reach it at run time: `.name` on `any` or
 * on a type assertion, and `['name']`, in the declaring file or a file importing it.
 */
function uncheckedAccesses(name: string, declaringFile: SourceFile): Node[] {
  const seeing = [declaringFile, ...declaringFile.getReferencingSourceFiles()];
  const found: Node[] = [];
  for (const file of seeing) {
    for (const access of file.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression)) {
      if (access.getName() !== name) continue;
      const receiver = access.getExpression();
      const bare = Node.isParenthesizedExpression(receiver) ? receiver.getExpression() : receiver;
      if (Node.isAsExpression(bare) || Node.isTypeAssertion(bare) || receiver.getType().isAny()) found.push(access);
    }
    for (const access of file.getDescendantsOfKind(SyntaxKind.ElementAccessExpression)) {
      const argument = access.getArgumentExpression();
      if (argument && Node.isStringLiteral(argument) && argument.getLiteralValue() === name) found.push(access);
    }
  }
  return found;
}

/** The edits that rename every reference of `symbol` to `#name`, or the reason it cannot be done. */
function renameEdits(symbol: MorphSymbol, declarations: Node[], name: string): Edit[] | string {
  const edits: Edit[] = [];
  const seen = new Set<number>();
  const add = (id: Identifier) => {
    if (seen.has(id.getStart())) return;
    seen.add(id.getStart());
    edits.push({ start: id.getStart(), end: id.getEnd(), text: `#${name}` });
  };
  for (const declaration of declarations) {
    const nameNode = (declaration as Node & { getNameNode(): Node }).getNameNode();
    for (const reference of (nameNode as Identifier).findReferencesAsNodes()) {
      const parent = reference.getParent();
      if (!Node.isIdentifier(reference)) return `referenced as ${reference.getKindName()} at ${where(reference)}`;
      if (reference.getSymbol()?.getFullyQualifiedName() !== symbol.getFullyQualifiedName()) {
        return `shares references with ${reference.getSymbol()?.getFullyQualifiedName() ?? 'another symbol'} at ${where(reference)}`;
      }
      if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === reference) add(reference);
      else if (declarations.includes(parent!)) add(reference);
      else return `referenced in ${parent?.getKindName() ?? 'nothing'} at ${where(reference)}`;
    }
    add(nameNode as Identifier);
  }
  return edits;
}

/** The `#names` a class already declares. */
function hashNames(cls: ClassLikeDeclaration): Set<string> {
  const names = new Set<string>();
  for (const member of cls.getMembers()) {
    const name = Node.hasName(member) ? member.getName() : undefined;
    if (name?.startsWith('#')) names.add(name);
  }
  return names;
}

function convertClass(cls: ClassLikeDeclaration): void {
  const ownHashNames = hashNames(cls);
  const done = new Set<MorphSymbol>();

  for (const member of cls.getMembers()) {
    if (Node.isConstructorDeclaration(member)) continue;
    if (!Node.isModifierable(member) || !member.hasModifier(SyntaxKind.PrivateKeyword)) continue;
    const nameNode = (member as Node & { getNameNode(): Node }).getNameNode();
    const label = `${where(member)} ${cls.getName() ?? '(class)'}.${nameNode.getText()}`;
    if (!Node.isIdentifier(nameNode)) {
      skipped.push(`${label}: its name is not an identifier`);
      continue;
    }
    const symbol = nameNode.getSymbolOrThrow();
    if (done.has(symbol)) continue;
    done.add(symbol);
    const name = nameNode.getText();
    const declarations = symbol.getDeclarations();
    if (ownHashNames.has(`#${name}`)) {
      skipped.push(`${label}: the class already has #${name}`);
      continue;
    }
    if (Node.isMethodDeclaration(member) && member.getOverloads().length > 0) {
      skipped.push(`${label}: a method with overloads`);
      continue;
    }
    if (declarations.some((d) => !Node.isModifierable(d) || !d.hasModifier(SyntaxKind.PrivateKeyword))) {
      skipped.push(`${label}: its accessors differ in visibility`);
      continue;
    }
    const unchecked = uncheckedAccesses(name, member.getSourceFile());
    if (unchecked.length > 0) {
      skipped.push(`${label}: ${UNCHECKED} at ${unchecked.map(where).join(', ')}`);
      continue;
    }
    const edits = renameEdits(symbol, declarations, name);
    if (typeof edits === 'string') {
      skipped.push(`${label}: ${edits}`);
      continue;
    }
    for (const declaration of declarations) {
      const drop = dropKeyword(declaration, SyntaxKind.PrivateKeyword);
      if (drop) edits.push(drop);
    }
    const kind = Node.isMethodDeclaration(member)
      ? 'method'
      : Node.isPropertyDeclaration(member)
        ? 'field'
        : 'accessor';
    conversions.push({ file: member.getSourceFile(), edits, kind });
  }

  const ctor = cls.getConstructors().find((c) => c.getBody() !== undefined);
  if (!ctor) return;
  const body = ctor.getBodyOrThrow();
  if (!Node.isBlock(body)) return;
  const superCall = body
    .getStatements()
    .find((s) => Node.isExpressionStatement(s) && s.getExpression().getText().startsWith('super('));
  if (cls.getExtends() && !superCall) {
    for (const p of ctor.getParameters().filter((p) => p.hasModifier(SyntaxKind.PrivateKeyword))) {
      skipped.push(`${where(p)} ${p.getName()}: the constructor's super() call is not a top-level statement`);
    }
    return;
  }
  const declareAt = ctor.getStart(true);
  let declared = false;
  for (const parameter of ctor.getParameters()) {
    if (!parameter.hasModifier(SyntaxKind.PrivateKeyword)) continue;
    const assignAt = superCall ? superCall.getEnd() : body.getStart() + 1;
    declared = convertParameterProperty(cls, parameter, assignAt, declareAt) || declared;
  }
  // A blank line between the new fields and the constructor (insertions at one offset keep their order).
  if (declared) conversions.at(-1)!.edits.push({ start: declareAt, end: declareAt, text: '\n' });
}

function convertParameterProperty(
  cls: ClassLikeDeclaration,
  parameter: ParameterDeclaration,
  assignAt: number,
  declareAt: number,
): boolean {
  const name = parameter.getName();
  const label = `${where(parameter)} ${cls.getName() ?? '(class)'}.${name}`;
  if (hashNames(cls).has(`#${name}`)) {
    skipped.push(`${label}: the class already has #${name}`);
    return false;
  }
  const nameNode = parameter.getNameNode();
  if (!Node.isIdentifier(nameNode)) {
    skipped.push(`${label}: a destructured parameter`);
    return false;
  }
  const written = parameter.getTypeNode()?.getText() ?? parameter.getType().getText(parameter);
  // `#x?:` is no field syntax; an optional parameter's field holds undefined instead.
  const type = parameter.hasQuestionToken() ? `(${written}) | undefined` : written;
  if (type.includes('import(')) {
    skipped.push(`${label}: its inferred type ${type} cannot be written here; annotate the parameter`);
    return false;
  }
  const unchecked = uncheckedAccesses(name, parameter.getSourceFile());
  if (unchecked.length > 0) {
    skipped.push(`${label}: ${UNCHECKED} at ${unchecked.map(where).join(', ')}`);
    return false;
  }
  // References of the property (this.name), not of the parameter inside the constructor.
  const edits: Edit[] = [];
  for (const reference of nameNode.findReferencesAsNodes()) {
    const parent = reference.getParent();
    if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === reference) {
      edits.push({ start: reference.getStart(), end: reference.getEnd(), text: `#${name}` });
    } else if (!(Node.isIdentifier(reference) && isPlainParameterUse(reference, parameter))) {
      skipped.push(`${label}: referenced in ${parent?.getKindName() ?? 'nothing'} at ${where(reference)}`);
      return false;
    }
  }
  const readonly = parameter.isReadonly() ? 'readonly ' : '';
  edits.push(dropKeyword(parameter, SyntaxKind.PrivateKeyword)!);
  if (readonly) edits.push(dropKeyword(parameter, SyntaxKind.ReadonlyKeyword)!);
  edits.push({ start: declareAt, end: declareAt, text: `${readonly}#${name}: ${type};\n` });
  edits.push({ start: assignAt, end: assignAt, text: `\nthis.#${name} = ${name};` });
  conversions.push({ file: parameter.getSourceFile(), edits, kind: 'parameter property' });
  return true;
}

/** A use of the parameter itself (inside the constructor), which stays as it is. */
function isPlainParameterUse(reference: Identifier, parameter: ParameterDeclaration): boolean {
  const parent = reference.getParent();
  if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === reference) return false;
  return reference.getFirstAncestor((a) => a === parameter.getParent()) !== undefined;
}

for (const file of files) {
  for (const cls of [
    ...file.getDescendantsOfKind(SyntaxKind.ClassDeclaration),
    ...file.getDescendantsOfKind(SyntaxKind.ClassExpression),
  ]) {
    convertClass(cls);
  }
}

// Apply the edits of each file from its end to its start, so earlier offsets stay valid; insertions
// at one offset go in the order they were made (a later one is applied first and pushed right).
const byFile = new Map<SourceFile, Edit[]>();
for (const c of conversions) byFile.set(c.file, [...(byFile.get(c.file) ?? []), ...c.edits]);
for (const [file, edits] of byFile) {
  let text = file.getFullText();
  const unique = [...new Map(edits.map((e) => [`${e.start}:${e.end}:${e.text}`, e])).values()];
  const ordered = unique
    .map((edit, seq) => ({ ...edit, seq }))
    .sort((a, b) => b.start - a.start || b.end - a.end || b.seq - a.seq);
  for (let i = 1; i < ordered.length; i++) {
    if (ordered[i]!.end > ordered[i - 1]!.start && ordered[i]!.start !== ordered[i - 1]!.start) {
      throw new Error(`overlapping edits in ${file.getFilePath()} at ${ordered[i]!.start}`);
    }
  }
  for (const edit of ordered) text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  if (!dryRun) file.replaceWithText(text);
}
if (!dryRun) await project.save();

const counts = new Map<string, number>();
for (const c of conversions) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
console.log(
  `${dryRun ? 'would convert' : 'converted'} ${conversions.length} members in ${byFile.size} files` +
    ` (${[...counts].map(([k, n]) => `${k}: ${n}`).join(', ')})`,
);
if (skipped.length > 0) {
  console.log(`skipped ${skipped.length}:`);
  for (const s of skipped) console.log(`  ${s}`);
}
