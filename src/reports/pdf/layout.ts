/**
 * A small flowing layout over pdf-lib: A4 pages, headings, wrapped paragraphs, key/value blocks
 * and tables that break across pages, page numbers. Text uses the 14 standard PDF fonts
 * (Helvetica, Courier: nothing embedded, so the file stays small and text stays extractable
 * by pdftotext); they encode WinAnsi only, so other characters are replaced by '?'.
 */
import type { PDFFont, PDFPage } from 'pdf-lib';
import { PDFDocument, StandardFonts, rgb, type RGB } from 'pdf-lib';

export const A4: readonly [number, number] = [595.28, 841.89];
export const MARGIN = 48;
export const INK = rgb(0.1, 0.1, 0.12);
export const GREY = rgb(0.45, 0.45, 0.5);
export const RULE = rgb(0.8, 0.8, 0.84);

/** Characters the standard fonts can encode (WinAnsi's printable ASCII and Latin-1 range). */
export function winAnsi(s: string): string {
  return s.replace(/[^\x20-\x7e\xa0-\xff]/g, (c) => (c === '\t' ? ' ' : c === '\u2014' || c === '\u2013' ? '-' : '?'));
}

export interface Column {
  title: string;
  /** share of the text width */
  width: number;
  mono?: boolean;
}

export interface TextStyle {
  size?: number;
  font?: 'regular' | 'bold' | 'mono';
  color?: RGB;
}

export class PdfLayout {
  page!: PDFPage;
  y = 0;
  readonly width = A4[0] - 2 * MARGIN;
  private constructor(
    readonly doc: PDFDocument,
    private readonly fonts: Record<'regular' | 'bold' | 'mono', PDFFont>,
  ) {}

  static async create(meta: { title: string; author: string; subject: string; created: Date }): Promise<PdfLayout> {
    const doc = await PDFDocument.create({ updateMetadata: false });
    doc.setTitle(winAnsi(meta.title));
    doc.setAuthor(winAnsi(meta.author));
    doc.setSubject(winAnsi(meta.subject));
    doc.setCreator('agent-ca');
    doc.setProducer('agent-ca (pdf-lib)');
    // The report's own time, not the wall clock: the same data renders to the same bytes.
    doc.setCreationDate(meta.created);
    doc.setModificationDate(meta.created);
    const fonts = {
      regular: await doc.embedFont(StandardFonts.Helvetica),
      bold: await doc.embedFont(StandardFonts.HelveticaBold),
      mono: await doc.embedFont(StandardFonts.Courier),
    };
    const l = new PdfLayout(doc, fonts);
    l.newPage();
    return l;
  }

  font(f: TextStyle['font'] = 'regular'): PDFFont {
    return this.fonts[f];
  }

  newPage(): void {
    this.page = this.doc.addPage([A4[0], A4[1]]);
    this.y = A4[1] - MARGIN;
  }

  /** Starts a new page unless `height` points still fit. */
  ensure(height: number): void {
    if (this.y - height < MARGIN + 14) this.newPage();
  }

  /** Lines of `text` that fit `width` at `size` (words, and over-long words by characters). */
  wrap(text: string, width: number, size: number, f: TextStyle['font'] = 'regular'): string[] {
    const font = this.font(f);
    const fits = (s: string): boolean => font.widthOfTextAtSize(s, size) <= width;
    const out: string[] = [];
    for (const para of winAnsi(text).split('\n')) {
      let line = '';
      for (const word of para.split(' ')) {
        const candidate = line ? `${line} ${word}` : word;
        if (fits(candidate)) {
          line = candidate;
          continue;
        }
        if (line) out.push(line);
        // An over-long token (a hash, a serial): break it by characters, measuring each once.
        let piece = '';
        let w = 0;
        for (const ch of word) {
          const cw = font.widthOfTextAtSize(ch, size);
          if (piece && w + cw > width) {
            out.push(piece);
            piece = '';
            w = 0;
          }
          piece += ch;
          w += cw;
        }
        line = piece;
      }
      out.push(line);
    }
    return out;
  }

  text(text: string, style: TextStyle = {}, indent = 0): void {
    const size = style.size ?? 9.5;
    const lead = size * 1.3;
    for (const line of this.wrap(text, this.width - indent, size, style.font)) {
      this.ensure(lead);
      this.y -= lead;
      this.page.drawText(line, {
        x: MARGIN + indent,
        y: this.y,
        size,
        font: this.font(style.font),
        color: style.color ?? INK,
      });
    }
  }

  gap(points = 6): void {
    this.y -= points;
  }

  heading(text: string, size = 14): void {
    this.ensure(size * 3);
    this.gap(size * 0.6);
    this.text(text, { size, font: 'bold' });
    this.page.drawLine({
      start: { x: MARGIN, y: this.y - 4 },
      end: { x: MARGIN + this.width, y: this.y - 4 },
      thickness: 0.6,
      color: RULE,
    });
    this.gap(10);
  }

  keyValues(rows: readonly (readonly [string, string])[], keyWidth = 130): void {
    const size = 9.5;
    const lead = size * 1.3;
    for (const [k, v] of rows) {
      const lines = this.wrap(v, this.width - keyWidth, size);
      this.ensure(lead * Math.min(lines.length, 3));
      this.page.drawText(winAnsi(k), { x: MARGIN, y: this.y - lead, size, font: this.font('bold'), color: INK });
      for (const line of lines) {
        this.ensure(lead);
        this.y -= lead;
        this.page.drawText(line, { x: MARGIN + keyWidth, y: this.y, size, font: this.font(), color: INK });
      }
    }
  }

  table(columns: readonly Column[], rows: readonly (readonly string[])[], size = 8): void {
    const lead = size * 1.25;
    const widths = columns.map((c) => c.width * this.width);
    const drawRow = (cells: readonly string[], bold: boolean): void => {
      const wrapped = cells.map((c, i) =>
        this.wrap(c, widths[i]! - 4, size, bold ? 'bold' : columns[i]!.mono ? 'mono' : 'regular'),
      );
      const height = Math.max(...wrapped.map((w) => w.length)) * lead + 3;
      if (this.y - height < MARGIN + 14) {
        this.newPage();
        if (!bold)
          drawRow(
            columns.map((c) => c.title),
            true,
          );
      }
      let x = MARGIN;
      wrapped.forEach((lines, i) => {
        lines.forEach((line, j) => {
          this.page.drawText(line, {
            x: x + 2,
            y: this.y - lead * (j + 1),
            size,
            font: this.font(bold ? 'bold' : columns[i]!.mono ? 'mono' : 'regular'),
            color: INK,
          });
        });
        x += widths[i]!;
      });
      this.y -= height;
      this.page.drawLine({
        start: { x: MARGIN, y: this.y + 1 },
        end: { x: MARGIN + this.width, y: this.y + 1 },
        thickness: bold ? 0.8 : 0.3,
        color: RULE,
      });
    };
    drawRow(
      columns.map((c) => c.title),
      true,
    );
    for (const r of rows) drawRow(r, false);
    this.gap(6);
  }

  /** "page n of N" on every page, and the document's bytes. */
  async finish(footer: string): Promise<Uint8Array> {
    const pages = this.doc.getPages();
    pages.forEach((p, i) => {
      p.drawText(winAnsi(`${footer} - page ${i + 1} of ${pages.length}`), {
        x: MARGIN,
        y: MARGIN / 2,
        size: 7,
        font: this.font(),
        color: GREY,
      });
    });
    return this.doc.save({ useObjectStreams: true });
  }
}
