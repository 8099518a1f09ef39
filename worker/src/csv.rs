//! CSV exports (the reports and the audit log): RFC 4180 through `csv-core`, a header
//! row, CRLF line ends, and cells that a spreadsheet would run as a formula (`=`, `+`,
//! `-`, `@`, tab or carriage return first) written with a leading `'`: a user name is
//! whatever an app sent, and an administrator opens the file in a spreadsheet.

use worker::Response;

use crate::error::ApiError;
use crate::query::Query;

/// Which format a report is asked in: `?format=csv|json`, else `Accept: text/csv`.
pub(crate) fn wanted(req: &crate::request::Request, q: &Query) -> Result<bool, ApiError> {
    match q.get("format") {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::InvalidField {
            field: "format".into(),
            message: "must be csv or json".into(),
        }),
        None => Ok(req
            .headers()
            .get("Accept")?
            .is_some_and(|a| a.to_ascii_lowercase().contains("text/csv"))),
    }
}

/// A CSV document being written.
#[derive(Debug)]
pub(crate) struct Csv {
    out: Vec<u8>,
    writer: csv_core::Writer,
    first: bool,
}

impl Csv {
    /// A document whose first row is `header`.
    pub(crate) fn new(header: &[&str]) -> Csv {
        let mut csv = Csv {
            out: Vec::new(),
            writer: csv_core::WriterBuilder::new()
                .terminator(csv_core::Terminator::CRLF)
                .build(),
            first: true,
        };
        csv.row(header.iter().copied());
        csv
    }

    /// Append one row.
    pub(crate) fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        for cell in cells {
            self.cell(cell);
        }
        self.end();
    }

    fn cell(&mut self, value: &str) {
        let mut buf = [0u8; 1024];
        if !self.first {
            let (_, n) = self.writer.delimiter(&mut buf);
            self.out.extend_from_slice(&buf[..n]);
        }
        self.first = false;
        let guarded;
        let mut input = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            guarded = format!("'{value}");
            guarded.as_bytes()
        } else {
            value.as_bytes()
        };
        loop {
            let (result, read, written) = self.writer.field(input, &mut buf);
            self.out.extend_from_slice(&buf[..written]);
            input = &input[read..];
            if matches!(result, csv_core::WriteResult::InputEmpty) {
                break;
            }
        }
    }

    /// End the row (the terminator also closes the last field's quotes, if any).
    fn end(&mut self) {
        let mut buf = [0u8; 8];
        let (_, n) = self.writer.terminator(&mut buf);
        self.out.extend_from_slice(&buf[..n]);
        self.first = true;
    }

    /// The document as a download named `filename`.
    pub(crate) fn into_response(self, filename: &str) -> Result<Response, ApiError> {
        let mut response = Response::from_bytes(self.out)?;
        let headers = response.headers_mut();
        headers.set("Content-Type", "text/csv; charset=utf-8")?;
        headers.set(
            "Content-Disposition",
            &format!("attachment; filename=\"{filename}\""),
        )?;
        Ok(response)
    }

    #[cfg(test)]
    fn text(&self) -> &str {
        core::str::from_utf8(&self.out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_quoting_and_guards_formulas() {
        let mut csv = Csv::new(&["a", "b", "c"]);
        csv.row(["plain", "with,comma", "say \"hi\""]);
        csv.row(["=1+1", "line\nbreak", ""]);
        assert_eq!(
            csv.text(),
            "a,b,c\r\nplain,\"with,comma\",\"say \"\"hi\"\"\"\r\n'=1+1,\"line\nbreak\",\r\n"
        );
    }
}
