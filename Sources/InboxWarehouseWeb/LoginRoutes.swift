import Foundation
import HTTPTypes
import Hummingbird
import InboxWarehouse
import NIOCore

extension WebServer {
    /// The login form carries a token bound to a random `iw_login` cookie (double submit,
    /// signed): a form posted from another site has neither.
    func loginPage(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        if state.session != nil { return Self.redirect("/exports/on-demand") }
        return loginForm(state, status: .ok, error: nil)
    }

    func loginForm(_ state: RequestState, status: HTTPResponse.Status, error: Text?, username: String = "") -> Response {
        let nonce = state.cookies["iw_login"].flatMap { $0.count == 43 ? $0 : nil } ?? Random.token()
        let page = Pages.login(language: state.language, state: state, csrfToken: signed("login:" + nonce), error: error, username: username)
        return Self.html(status, page, cookies: [Self.cookie("iw_login", nonce, maxAge: 3600, secure: state.isSecure, sameSite: "Strict")])
    }

    func login(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        guard let nonce = state.cookies["iw_login"],
              let form = try await checkedForm(request, expected: signed("login:" + nonce)) else {
            return errorPage(.forbidden, .csrfRefused, state)
        }
        let name = form["username"] ?? ""
        let password = form["password"] ?? ""
        if limiter.isLimited(name: name, address: context.remoteAddress) {
            log("serve: login of \(String(name.prefix(64).filter { $0.isLetter || $0.isNumber || "._@-".contains($0) })) refused: too many failed attempts")
            return loginForm(state, status: .tooManyRequests, error: .tooManyAttempts, username: name)
        }
        let user = name.isEmpty || password.isEmpty || password.utf8.count > 1024 ? nil
            : try await pool.with { try UserStore(connection: $0).verify(name: name, password: password) }
        guard let user else {
            limiter.recordFailure(name: name, address: context.remoteAddress)
            return loginForm(state, status: .unauthorized, error: .wrongLogin, username: name)
        }
        limiter.recordSuccess(name: name)
        let hours = configuration.sessionHours
        let token = try await pool.with { try SessionStore(connection: $0).open(user, hours: hours) }
        return Self.redirect("/exports/on-demand", cookies: [
            Self.cookie("iw_session", token, maxAge: hours * 3600, secure: state.isSecure),
            Self.cookie("iw_login", "", maxAge: 0, secure: state.isSecure, sameSite: "Strict"),
        ])
    }

    func logout(_ request: Request, _ context: WebContext) async throws -> Response {
        let state = try await self.state(request, context)
        guard let session = state.session else { return Self.redirect("/login") }
        guard try await checkedForm(request, expected: session.csrfToken) != nil else {
            return errorPage(.forbidden, .csrfRefused, state)
        }
        if let token = state.cookies["iw_session"] {
            try await pool.with { try SessionStore(connection: $0).close(token) }
        }
        return Self.redirect("/login", cookies: [Self.cookie("iw_session", "", maxAge: 0, secure: state.isSecure)])
    }
}
